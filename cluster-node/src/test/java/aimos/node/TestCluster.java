package aimos.node;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import aimos.cassandra.CassandraLauncher;
import aimos.cassandra.SharedCassandra;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * Real AIMOS nodes for integration tests: each is {@link Main#init} on its own actor system with real ports, all on
 * the JVM's shared Cassandra, in keyspaces of their own.
 */
public final class TestCluster implements AutoCloseable {
  public static final String ADMIN_TOKEN = "test-admin-token-9f3c1a7e5b2d4c6e8a0b1d3f5e7a9c2b";
  public static final String SECOPS_TOKEN = "test-secops-token-4d6f8b0a2c4e6a8c0e2b4d6f8a0c2e4d";
  private static final AtomicInteger clusters = new AtomicInteger();
  /** The Ed25519 key that signs audit records in test clusters: made once per test JVM. */
  public static final java.security.KeyPair AUDIT_KEYS;
  static final java.nio.file.Path AUDIT_KEY_FILE;

  static {
    try {
      AUDIT_KEYS = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      AUDIT_KEY_FILE = java.nio.file.Files.createTempFile("aimos-audit", ".pem");
      AUDIT_KEY_FILE.toFile().deleteOnExit();
      java.nio.file.Files.writeString(AUDIT_KEY_FILE,
          aimos.access.audit.AuditChain.pem("PRIVATE KEY", AUDIT_KEYS.getPrivate().getEncoded()));
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  public final List<Main.Node> nodes = new ArrayList<>();
  /** The CA whose certificates the nodes serve, when they speak TLS; null for plaintext. */
  public TestCerts tls;
  /** Each node's certificate and key files, when they speak TLS. */
  public final List<TestCerts.Issued> nodeCerts = new ArrayList<>();
  private java.net.http.HttpClient tlsHttp;
  private final List<ActorSystem<?>> clients = new ArrayList<>();
  private final String keyspacePrefix;
  /** Whether the nodes use the JVM's shared Cassandra, whose keyspaces this cluster drops when it closes. */
  private boolean onSharedCassandra;
  private final List<Integer> artery = new ArrayList<>();
  private final List<Integer> management = new ArrayList<>();
  private final Path sandboxes;
  /** The environment variables the nodes read (NodeConfig): none unless a test sets them. */
  private java.util.Map<String, String> env = java.util.Map.of();

  private TestCluster(int size) throws Exception {
    keyspacePrefix = "it" + ProcessHandle.current().pid() + "_" + clusters.incrementAndGet();
    sandboxes = Files.createTempDirectory("aimos-it-sandboxes");
    for (int i = 0; i < size; i++) {
      artery.add(distinctFreePort());
      management.add(distinctFreePort());
    }
  }

  /** A free port not already given to this cluster (the kernel may hand out the port it just took back). */
  private int distinctFreePort() {
    int port;
    do {
      port = CassandraLauncher.freePort();
    } while (artery.contains(port) || management.contains(port));
    return port;
  }

  /** Starts {@code size} nodes that form one cluster, the first being the seed. */
  public static TestCluster start(int size) throws Exception {
    return start(size, "");
  }

  /** As {@link #start(int)}, with extra configuration (HOCON) for every node. */
  public static TestCluster start(int size, String extraConfig) throws Exception {
    String contact = SharedCassandra.contactPoint();
    TestCluster c = new TestCluster(size);
    return c.startNodes(size, i -> extraConfig, contact);
  }

  /**
   * One node on the Cassandra at {@code contact} (not the shared one), reading the {@code AIMOS_*} environment
   * variables from {@code env} as {@link NodeConfig} does at start-up; {@code extraConfig} as in
   * {@link #start(int, String)}.
   */
  public static TestCluster startOn(String contact, String extraConfig, java.util.Map<String, String> env)
      throws Exception {
    TestCluster c = new TestCluster(1);
    c.env = env;
    return c.startNodes(1, i -> extraConfig, contact);
  }

  /**
   * The configuration a single node on {@code contact} with environment {@code env} starts from, with
   * {@code extraConfig} over it, for tests that start it themselves (a node expected not to start, say).
   */
  public static Config singleNodeConfig(String contact, String extraConfig, java.util.Map<String, String> env)
      throws Exception {
    TestCluster c = new TestCluster(1);
    c.env = env;
    return c.nodeConfig(0, 1, contact, extraConfig);
  }

  /**
   * Nodes that speak TLS on every port (gateway, management, Artery with mutual authentication), each with its own
   * certificate from {@code ca}; {@code extraConfig} as in {@link #start(int, String)}.
   */
  public static TestCluster startTls(int size, TestCerts ca, String extraConfig) throws Exception {
    TestCluster c = new TestCluster(size);
    c.tls = ca;
    List<TestCerts.Issued> certs = c.nodeCerts;
    for (int i = 0; i < size; i++) {
      certs.add(ca.issue("node" + i));
    }
    return c.startNodes(size, i -> tlsConfig(certs.get(i), ca) + extraConfig, SharedCassandra.contactPoint());
  }

  /** The settings of a node serving {@code cert}, trusting {@code ca}'s certificates for its peers. */
  public static String tlsConfig(TestCerts.Issued cert, TestCerts ca) {
    return tlsConfig(cert, ca.caCert);
  }

  /** As {@link #tlsConfig(TestCerts.Issued, TestCerts)}, trusting the CA certificates in {@code caFile}. */
  public static String tlsConfig(TestCerts.Issued cert, java.nio.file.Path caFile) {
    return "aimos.tls.certificate-file = \"" + cert.cert() + "\"\n"
        + "aimos.tls.private-key-file = \"" + cert.key() + "\"\n"
        + "aimos.tls.ca-file = \"" + caFile + "\"\n"
        + "aimos.tls.reload-check-interval = 200ms\n";
  }

  /** An HTTPS client trusting this cluster's CA. */
  public synchronized java.net.http.HttpClient tlsHttp() {
    if (tlsHttp == null) {
      tlsHttp = Http.tlsClient(tls.clientContext());
    }
    return tlsHttp;
  }

  private TestCluster startNodes(int size, java.util.function.IntFunction<String> extra, String contact)
      throws Exception {
    TestCluster c = this;
    c.onSharedCassandra = contact.equals(SharedCassandra.contactPoint());
    for (int i = 0; i < size; i++) {
      Config config = c.nodeConfig(i, size, contact, extra.apply(i));
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "aimos", config);
      c.nodes.add(Main.init(system));
    }
    for (Main.Node n : c.nodes) {
      n.gatewayBinding().toCompletableFuture().join();
    }
    c.awaitMembersUp(size);
    c.awaitJournal();
    return c;
  }

  private Config nodeConfig(int i, int size, String contact, String extraConfig) {
    return NodeConfig.load(ConfigFactory.parseString(extraConfig)
        .withFallback(ConfigFactory.parseString(overrides(i, contact, size))), env);
  }

  private void awaitMembersUp(int size) {
    for (Main.Node n : nodes) {
      org.apache.pekko.actor.testkit.typed.javadsl.TestProbe.create(n.system())
          .awaitAssert(java.time.Duration.ofSeconds(60), () -> {
            long up = java.util.stream.StreamSupport.stream(
                org.apache.pekko.cluster.typed.Cluster.get(n.system()).state().getMembers().spliterator(), false)
                .filter(m -> m.status() == org.apache.pekko.cluster.MemberStatus.up()).count();
            org.junit.jupiter.api.Assertions.assertEquals(size, up, "members up");
            return null;
          });
    }
  }

  /** The first write into fresh keyspaces waits for their tables; make it happen before the test's requests. */
  private void awaitJournal() {
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe.create(nodes.get(0).system())
        .awaitAssert(java.time.Duration.ofSeconds(90), java.time.Duration.ofMillis(500), () -> {
          int status = Http.admin(this, "POST", "/admin/models", "{\"name\": \"warm-up\"}").status();
          org.junit.jupiter.api.Assertions.assertTrue(status == 201 || status == 409, "journal ready: " + status);
          return null;
        });
  }

  private String overrides(int i, String contact, int size) {
    String hour = LocalDateTime.now(ZoneOffset.UTC).minusHours(1)
        .format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HH:00"));
    String seeds = size == 1 ? "[]" : "[\"pekko://aimos@127.0.0.1:" + artery.get(0) + "\"]";
    return """
        aimos.create-tables = on
        aimos.admin.token = "%s"
        aimos.secops.token = "%s"
        aimos.gateway.port = 0
        aimos.metrics.jvm = off
        aimos.sandbox.work-dir = "%s"
        aimos.audit.signing-key-file = "%s"
        aimos.billing.keyspace = "%s_billing"
        pekko.persistence.cassandra.journal.keyspace = "%s_journal"
        pekko.persistence.cassandra.snapshot.keyspace = "%s_snapshot"
        pekko.projection.cassandra.offset-store.keyspace = "%s_offsets"
        pekko.persistence.cassandra.events-by-tag.first-time-bucket = "%s"
        pekko.management.http.port = %d
        pekko.remote.artery.canonical.port = %d
        pekko.cluster.seed-nodes = %s
        pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
        datastax-java-driver.basic.contact-points = ["%s"]
        # one Cassandra holds every test's keyspaces: a node would re-read all their schema on each change anywhere
        datastax-java-driver.advanced.metadata.schema.enabled = false
        """.formatted(ADMIN_TOKEN, SECOPS_TOKEN, sandboxes.resolve("node" + i), AUDIT_KEY_FILE, keyspacePrefix, keyspacePrefix, keyspacePrefix,
        keyspacePrefix, hour, management.get(i), artery.get(i), seeds, contact);
  }

  /**
   * Waits until a worker of the model version runs: its sandbox process started and joined the model entity. A
   * request sent before then waits only the lease queue timeout, which a cold sandbox may outlast on a busy host.
   * Returns the worker's id.
   */
  public String awaitWorkerReady(String model, String version) {
    return awaitWorkers(model, version, 1).get(0);
  }

  /** Waits until {@code count} workers of the model version run (one per node hosting it); returns their ids. */
  public List<String> awaitWorkers(String model, String version, int count) {
    List<String> ready = new ArrayList<>();
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe.create(nodes.get(0).system())
        .awaitAssert(java.time.Duration.ofSeconds(90), java.time.Duration.ofMillis(200), () -> {
          Http.Reply leases = Http.admin(this, "GET", "/admin/models/" + model + "/leases", null);
          org.junit.jupiter.api.Assertions.assertEquals(200, leases.status(), leases.body());
          List<String> workers = new ArrayList<>();
          leases.json().get("leasesByWorker").fieldNames().forEachRemaining(w -> {
            if (w.endsWith("/" + model + "/" + version)) {
              workers.add(w);
            }
          });
          org.junit.jupiter.api.Assertions.assertTrue(workers.size() >= count,
              count + " workers of " + model + " " + version + " ready: " + leases.body());
          ready.clear();
          ready.addAll(workers);
          return null;
        });
    return ready;
  }

  /**
   * A tenant's ledger rows of a month, read page by page through node 0 (the month's range comes from the rollups,
   * so rows appear once the projection has written both).
   */
  public List<aimos.billing.ledger.LedgerRow> ledgerRows(String tenant, String month) {
    return nodes.get(0).ledger().collect(tenant, month, 100_000, nodes.get(0).system()).toCompletableFuture().join();
  }

  /** The index of the node that runs a worker (worker ids start with their node's address). */
  public int nodeOf(String workerId) {
    for (int i = 0; i < nodes.size(); i++) {
      if (workerId.startsWith(nodes.get(i).system().address().hostPort() + "/")) {
        return i;
      }
    }
    throw new AssertionError("no node of this cluster runs worker " + workerId);
  }

  /** The keyspace of this cluster's billing tables (ledger, rollups, audit log). */
  public String billingKeyspace() {
    return keyspacePrefix + "_billing";
  }

  /** The seed node's Artery address, for other systems joining this cluster. */
  public String seedAddress() {
    return "pekko://aimos@127.0.0.1:" + artery.get(0);
  }

  public int managementPort(int node) {
    return management.get(node);
  }

  public int arteryPort(int node) {
    return artery.get(node);
  }

  /** A gRPC client of node {@code i}'s gateway, over a real socket. */
  public InferenceServiceClient client(int i) {
    if (clients.isEmpty()) {
      clients.add(ActorSystem.create(Behaviors.empty(), "clients", ConfigFactory.parseString("""
          pekko.loglevel = WARNING
          pekko.actor.provider = local
          """).withFallback(ConfigFactory.load())));
    }
    ActorSystem<?> sys = clients.get(0);
    GrpcClientSettings settings = GrpcClientSettings.connectToServiceAt("127.0.0.1", nodes.get(i).gatewayPort(), sys);
    return InferenceServiceClient.create(tls == null ? settings.withTls(false)
        : settings.withTls(true).withSslContext(tls.clientContext()), sys);
  }

  public static InferResponse infer(InferenceServiceClient client, String apiKey, String model, String requestId,
                                    String prompt) {
    InferRequest.Builder req = InferRequest.newBuilder().setModel(model)
        .setText(TextInput.newBuilder().setPrompt(prompt));
    if (requestId != null) {
      req.setRequestId(requestId);
    }
    return client.infer().addHeader("authorization", "Bearer " + apiKey).invoke(req.build())
        .toCompletableFuture().join();
  }

  @Override
  public void close() {
    clients.forEach(ActorSystem::terminate);
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).shutdown();
    }
    if (onSharedCassandra) {
      dropKeyspaces();
    }
  }

  /**
   * Drops this cluster's keyspaces from the shared Cassandra, which otherwise holds every earlier test's tables for
   * the rest of the build (each costs it heap).
   */
  private void dropKeyspaces() {
    var loader = com.datastax.oss.driver.api.core.config.DriverConfigLoader.programmaticBuilder()
        .withBoolean(com.datastax.oss.driver.api.core.config.DefaultDriverOption.METADATA_SCHEMA_ENABLED, false)
        .withDuration(com.datastax.oss.driver.api.core.config.DefaultDriverOption.REQUEST_TIMEOUT,
            java.time.Duration.ofSeconds(30))
        .build();
    try (var cql = com.datastax.oss.driver.api.core.CqlSession.builder()
        .addContactPoint(new java.net.InetSocketAddress("127.0.0.1", SharedCassandra.port()))
        .withLocalDatacenter("datacenter1").withConfigLoader(loader).build()) {
      for (String suffix : List.of("_billing", "_journal", "_snapshot", "_offsets")) {
        cql.execute("DROP KEYSPACE IF EXISTS " + keyspacePrefix + suffix);
      }
    }
  }
}
