package aimos.node.dev;

import aimos.api.v1.BillingUnit;
import aimos.api.v1.InferenceServiceClient;
import aimos.cassandra.CassandraLauncher;
import aimos.node.Main;
import aimos.node.NodeConfig;
import aimos.tenant.Money;
import aimos.tenant.Plan;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigUtil;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.pattern.StatusReply;

/**
 * {@code bin/aimos dev}: Cassandra as a child process, one node, a demo tenant with a fresh API key and a demo
 * model, in the foreground until Ctrl-C. Data stays under {@code .aimos/dev} between runs.
 */
public final class DevLauncher {
  public static final String DEMO_TENANT = "demo";
  public static final String DEMO_MODEL = "demo-text";
  /** The tenant whose key the readiness probes use. */
  public static final String READINESS_TENANT = "dev-readiness";

  /** A model the demo registers, version v1 at the catalog's price. */
  record DemoModel(String name, String description, String runtime, BillingUnit unit) {}

  static final java.util.List<DemoModel> DEMO_MODELS = java.util.List.of(
      new DemoModel(DEMO_MODEL, "Deterministic text model (reversed words), cl100k tokens", "echo-text",
          BillingUnit.TOKENS),
      new DemoModel("demo-lm", "CMU Sphinx en-us trigram language model, generating word by word; cl100k tokens",
          "trigram-lm", BillingUnit.TOKENS),
      new DemoModel("demo-embed", "all-MiniLM-L6-v2 sentence embeddings (384 dimensions), billed per 1k input tokens",
          "minilm-embeddings", BillingUnit.TOKENS),
      new DemoModel("demo-ocr", "PaddleOCR PP-OCRv4 text recogniser: reads one line of text in an image, billed per "
          + "image", "ocr-text", BillingUnit.IMAGES),
      new DemoModel("demo-orientation", "PaddleOCR text-direction classifier: is a text-line image upright (0) or "
          + "upside down (180)", "ocr-orientation", BillingUnit.IMAGES),
      new DemoModel("demo-speech", "CMU Sphinx4 en-us speech to text: full vocabulary, or a JSGF grammar; billed per "
          + "audio minute", "sphinx-speech", BillingUnit.AUDIO_MINUTES));

  private DevLauncher() {}

  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? fallback : v;
  }

  public static void main(String[] args) {
    boolean plaintext = aimos.chaos.tls.ClientTls.plaintextRequested(System::getenv);
    for (String a : args) {
      switch (a) {
        case "--plaintext" -> plaintext = true;
        case "--help", "-h" -> {
          System.out.println("Usage: bin/aimos dev [--plaintext]\n  --plaintext  no TLS (also AIMOS_DEV_PLAINTEXT=1); "
              + "by default every port speaks TLS with a certificate from the local CA in $AIMOS_TLS_DIR");
          return;
        }
        default -> {
          System.err.println("Unknown option '" + a + "'. Usage: bin/aimos dev [--plaintext]");
          System.exit(2);
          return;
        }
      }
    }
    Path home = Path.of(env("AIMOS_HOME", ".aimos/dev")).toAbsolutePath();
    int cqlPort = Integer.parseInt(env("AIMOS_CASSANDRA_PORT", "9042"));
    int storagePort = Integer.parseInt(env("AIMOS_CASSANDRA_STORAGE_PORT", "7000"));
    Path cassandraJava = Path.of(env("AIMOS_CASSANDRA_JAVA_HOME", System.getProperty("java.home")));
    String adminToken = env("AIMOS_ADMIN_TOKEN", "");
    if (adminToken.isEmpty()) {
      byte[] b = new byte[18];
      new SecureRandom().nextBytes(b);
      adminToken = "adm_" + HexFormat.of().formatHex(b);
    }

    // TLS: the operator's own files (AIMOS_TLS_CERT_FILE ...), else the local CA's unless plaintext was asked for
    String ownCert = env("AIMOS_TLS_CERT_FILE", "");
    aimos.chaos.tls.LocalCa.Issued localCa = null;
    String tlsOverrides = "";
    if (ownCert.isEmpty() && !plaintext) {
      try {
        localCa = aimos.chaos.tls.LocalCa.ensure(aimos.chaos.tls.LocalCa.defaultDir(), java.util.List.of());
      } catch (RuntimeException e) {
        System.err.println("Could not make the local CA: " + e.getMessage() + " (bin/aimos dev --plaintext runs "
            + "without TLS)");
        System.exit(1);
        return;
      }
      tlsOverrides = "aimos.tls.certificate-file = " + ConfigUtil.quoteString(localCa.certificate().toString())
          + "\naimos.tls.private-key-file = " + ConfigUtil.quoteString(localCa.privateKey().toString())
          + "\naimos.tls.ca-file = " + ConfigUtil.quoteString(localCa.caCertificate().toString()) + "\n";
    }
    boolean tls = !ownCert.isEmpty() || localCa != null;

    System.out.println("[1/4] Starting Cassandra on 127.0.0.1:" + cqlPort + " (data in " + home.resolve("cassandra")
        + "; the first start takes about 20 s)...");
    CassandraLauncher cassandra;
    try {
      cassandra = CassandraLauncher.start(new CassandraLauncher.Settings(home.resolve("cassandra"), "127.0.0.1",
          cqlPort, storagePort, "1g", cassandraJava, Duration.ofSeconds(180)));
    } catch (RuntimeException e) {
      System.err.println("Cassandra did not start: " + e.getMessage());
      System.exit(1);
      return;
    }
    cassandra.detachShutdownHook();

    System.out.println("[2/4] Starting the AIMOS node...");
    String overrides = """
        aimos.create-tables = on
        aimos.webhooks.allow-private-targets = on
        aimos.admin.token = "%s"
        aimos.sandbox.work-dir = "%s"
        aimos.audit.signing-key-file = "%s"
        datastax-java-driver.basic.contact-points = ["127.0.0.1:%d"]
        """.formatted(adminToken, home.resolve("sandboxes"),
        aimos.access.audit.AuditChain.ensureSigningKey(home.resolve("audit-signing-key.pem")), cqlPort)
        + tlsOverrides;
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "aimos",
        NodeConfig.load(ConfigFactory.parseString(overrides)));
    Main.Node node;
    try {
      node = Main.init(system);
      node.gatewayBinding().toCompletableFuture().join();
    } catch (RuntimeException e) {
      System.err.println("The node did not start: " + rootMessage(e));
      system.terminate();
      cassandra.close();
      System.exit(1);
      return;
    }
    Main.Node started = node;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("Stopping the node, then Cassandra...");
      started.shutdown();
      cassandra.close();
      System.out.println("Stopped.");
    }, "aimos-dev-stop"));

    System.out.println("[3/4] Creating the demo tenant and models, and waiting for each model to answer...");
    String apiKey;
    String readinessKey;
    try {
      // the first start creates the journal's tables while these run: retry until they answer
      retrying(() -> ignoreExisting(node.tenants().create(DEMO_TENANT, "Demo tenant",
          new Plan(600, 200_000, Money.parseUsd("100"), 16))));
      apiKey = retrying(() -> node.tenants().issueKey(DEMO_TENANT, aimos.tenant.KeyScope.INFERENCE).toCompletableFuture().join().apiKey());
      // readiness probes are billed to a tenant of their own, so the demo tenant's usage is only what its user sent
      retrying(() -> ignoreExisting(node.tenants().create(READINESS_TENANT, "bin/aimos dev readiness probes",
          new Plan(600, 200_000, Money.parseUsd("100"), 16))));
      readinessKey = retrying(() -> node.tenants().issueKey(READINESS_TENANT, aimos.tenant.KeyScope.INFERENCE)
          .toCompletableFuture().join().apiKey());
      for (DemoModel m : DEMO_MODELS) {
        retrying(() -> ignoreExisting(node.models().register(m.name(), m.description())));
        retrying(() -> ignoreExisting(node.models().addVersion(m.name(), "v1", m.runtime(), m.unit(), -1, 1, 0)));
      }
    } catch (RuntimeException e) {
      System.err.println("Could not create the demo data: " + rootMessage(e));
      System.exit(1);
      return;
    }

    int port = node.gatewayPort();
    aimos.chaos.tls.ClientTls clientTls = localCa != null ? aimos.chaos.tls.ClientTls.trusting(localCa.caCertificate())
        : tls ? aimos.chaos.tls.ClientTls.fromEnvironment() : aimos.chaos.tls.ClientTls.PLAINTEXT;
    awaitDemoAnswers(system, clientTls, port, readinessKey);

    String mgmt = system.settings().config().getString("pekko.management.http.hostname") + ":"
        + system.settings().config().getInt("pekko.management.http.port");
    System.out.println("[4/4] AIMOS is running.");
    System.out.println();
    System.out.println("Gateway (gRPC and REST" + (tls ? ", TLS" : ", plaintext") + "): " + (tls ? "https" : "http")
        + "://127.0.0.1:" + port);
    System.out.println("Management: " + (tls ? "https" : "http") + "://" + mgmt);
    if (localCa != null) {
      localCa.howToUse().forEach(System.out::println);
    } else if (tls) {
      System.out.println("TLS: your own certificate (AIMOS_TLS_CERT_FILE); tools trust AIMOS_TLS_CA_FILE");
    } else {
      System.out.println("Plaintext (--plaintext / AIMOS_DEV_PLAINTEXT): bin/aimos tools need AIMOS_DEV_PLAINTEXT=1 "
          + "when a local CA exists");
    }
    System.out.println("API key: " + apiKey);
    System.out.println("Admin token: " + adminToken);
    Path credentials = home.resolve("credentials.env");
    try {
      aimos.chaos.cli.Secrets.writePrivate(credentials, "AIMOS_API_KEY=" + apiKey + "\nAIMOS_ADMIN_TOKEN=" + adminToken
          + "\n");
      System.out.println("Both are in " + credentials + " (readable by you only): 'set -a; . " + credentials
          + "; set +a' puts them in your shell's environment");
    } catch (java.io.IOException | UnsupportedOperationException e) {
      System.err.println("Could not write " + credentials + ": " + e.getMessage());
    }
    System.out.println();
    System.out.println("Try:");
    String grpcTrust = localCa != null ? "-cacert " + localCa.caCertificate()
        : tls ? "-cacert \"$AIMOS_TLS_CA_FILE\"" : "-plaintext";
    System.out.println("  grpcurl " + grpcTrust + " -H 'authorization: Bearer " + apiKey + "' -d '{\"model\":\"" + DEMO_MODEL
        + "\",\"text\":{\"prompt\":\"hello world\"}}' 127.0.0.1:" + port + " aimos.v1.InferenceService/Infer");
    System.out.println("Press Ctrl-C to stop.");
    system.getWhenTerminated().toCompletableFuture().join();
  }

  /**
   * The node is only called running once every demo model has answered a request through the gateway (a first call
   * would otherwise get "no capacity" while a sandbox starts or a runtime loads its files); should one not answer in
   * 3 minutes, a warning names it and why.
   */
  private static void awaitDemoAnswers(ActorSystem<?> system, aimos.chaos.tls.ClientTls clientTls, int port,
                                       String key) {
    var client = InferenceServiceClient.create(clientTls.grpc(GrpcClientSettings.connectToServiceAt("127.0.0.1",
        port, system)), system);
    try {
      var outcome = DemoReadiness.await(client, key, DEMO_MODELS.stream()
          .map(m -> new DemoReadiness.Probe(m.name(), DemoReadiness.sampleRequest(m.name(), m.runtime()))).toList(),
          Duration.ofMinutes(3), System.out);
      outcome.failures().forEach((model, why) -> System.err.println("Demo model " + model + " did not answer (" + why
          + "): requests to it fail until it does; the node's log and GET /admin/sandboxes say why"));
    } finally {
      client.close();
    }
  }

  private static boolean ignoreExisting(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().join();
    } catch (CompletionException e) {
      if (!(e.getCause() instanceof StatusReply.ErrorMessage m && m.getMessage().contains("already exists"))) {
        throw e;
      }
    }
    return true;
  }

  /** Retries on timeouts for up to two minutes, printing progress; other errors fail at once. */
  private static <T> T retrying(java.util.function.Supplier<T> action) {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (true) {
      try {
        return action.get();
      } catch (CompletionException e) {
        if (!(e.getCause() instanceof java.util.concurrent.TimeoutException) || System.nanoTime() > deadline) {
          throw e;
        }
        System.out.println("      waiting for Cassandra to create the tables...");
      }
    }
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.toString();
  }
}
