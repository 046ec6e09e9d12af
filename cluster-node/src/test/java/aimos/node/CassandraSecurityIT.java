package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferResponse;
import aimos.cassandra.CassandraLauncher;
import aimos.chaos.tls.LocalCa;
import aimos.node.tls.PemTls;
import aimos.tenant.Money;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import com.datastax.oss.driver.api.core.AllNodesFailedException;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.auth.AuthenticationException;
import com.datastax.oss.driver.api.core.connection.ConnectionInitException;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.internal.core.config.typesafe.DefaultDriverConfigLoader;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A Cassandra of its own that requires a login (PasswordAuthenticator, CassandraAuthorizer) and TLS from every client,
 * and real nodes configured through the environment variables of the README ({@code AIMOS_CASSANDRA_USERNAME},
 * {@code AIMOS_CASSANDRA_PASSWORD_FILE}, {@code AIMOS_CASSANDRA_TRUSTSTORE},
 * {@code AIMOS_CASSANDRA_TRUSTSTORE_PASSWORD_FILE}): a node with its own least-privileged role meters an inference
 * into that Cassandra; a wrong password or a missing truststore keeps a node from starting, and no password reaches
 * the logs.
 */
class CassandraSecurityIT {
  private static final String ROLE = "aimos_node";
  /**
   * Cassandra and the role are ready before any node starts, so a node's first connection is not retried (by
   * default the driver retries it until it gets through): a node that cannot log in fails at once.
   */
  private static final String NO_RETRY_ON_INIT = "datastax-java-driver.advanced.reconnect-on-init = off";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final CapturedLogs logs = new CapturedLogs();
  private static Path work;
  private static CassandraLauncher cassandra;
  private static String contact;
  private static String rolePassword;
  private static Path passwordFile;
  private static Path truststore;
  private static String truststorePassword;
  private static Path truststorePasswordFile;
  /** Only for waiting (TestProbe.awaitAssert) before any node runs. */
  private static ActorSystem<Void> waits;

  @BeforeAll
  static void startSecuredCassandra() throws Exception {
    logs.start();
    work = Files.createTempDirectory("aimos-secure-cassandra");
    LocalCa.Issued certs = LocalCa.ensure(work.resolve("tls"), List.of());
    X509Certificate caCert = PemTls.certificates(certs.caCertificate()).get(0);

    // the server's key and certificate chain, as Cassandra's keystore
    String keystorePassword = secret();
    Path keystore = work.resolve("cassandra-keystore.p12");
    KeyStore server = KeyStore.getInstance("PKCS12");
    server.load(null, null);
    List<X509Certificate> chain = new ArrayList<>(PemTls.certificates(certs.certificate()));
    chain.add(caCert);
    server.setKeyEntry("cassandra", PemTls.privateKey(certs.privateKey()), keystorePassword.toCharArray(),
        chain.toArray(new X509Certificate[0]));
    store(server, keystore, keystorePassword);

    // the node's truststore: the CA only, behind a password of its own
    truststorePassword = secret();
    truststore = work.resolve("node-truststore.p12");
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("aimos-local-ca", caCert);
    store(trust, truststore, truststorePassword);
    truststorePasswordFile = ownerOnlyFile("truststore-password", truststorePassword);

    int cql = CassandraLauncher.freePort();
    int storage = CassandraLauncher.freePort();
    while (storage == cql) {
      storage = CassandraLauncher.freePort();
    }
    cassandra = CassandraLauncher.start(CassandraLauncher.Settings.defaults(work.resolve("cassandra"))
        .withPorts(cql, storage).withMaxHeap("512m").withPasswordAuthentication()
        .withClientTls(new CassandraLauncher.ClientTls(keystore, keystorePassword)));
    contact = cassandra.contactPoint();

    waits = ActorSystem.create(Behaviors.empty(), "waits", ConfigFactory.parseString("""
        pekko.loglevel = WARNING
        pekko.actor.provider = local
        """).withFallback(ConfigFactory.load()));
    // Cassandra makes its default superuser a moment after it answers CQL: wait until it can log in
    TestProbe.create(waits).awaitAssert(Duration.ofSeconds(90), Duration.ofMillis(500), () -> {
      try (CqlSession superuser = session("cassandra", "cassandra")) {
        assertEquals(1, superuser.execute("SELECT release_version FROM system.local").all().size());
      }
      return null;
    });
    // the node's own role: it may create keyspaces, and owns (only) those it creates
    rolePassword = secret();
    try (CqlSession superuser = session("cassandra", "cassandra")) {
      superuser.execute("CREATE ROLE " + ROLE + " WITH LOGIN = true AND PASSWORD = '" + rolePassword + "'");
      superuser.execute("GRANT CREATE ON ALL KEYSPACES TO " + ROLE);
    }
    passwordFile = ownerOnlyFile("cassandra-password", rolePassword);
  }

  @AfterAll
  static void stop() {
    if (waits != null) {
      waits.terminate();
    }
    if (cassandra != null) {
      cassandra.close();
    }
    logs.stop();
  }

  @Test
  void aNodeWithItsRolePasswordFileAndTruststoreMetersIntoTheSecuredCassandra() throws Exception {
    try (TestCluster cluster = TestCluster.startOn(contact, NO_RETRY_ON_INIT, Map.of(
        "AIMOS_CASSANDRA_USERNAME", ROLE,
        "AIMOS_CASSANDRA_PASSWORD_FILE", passwordFile.toString(),
        "AIMOS_CASSANDRA_TRUSTSTORE", truststore.toString(),
        "AIMOS_CASSANDRA_TRUSTSTORE_PASSWORD_FILE", truststorePasswordFile.toString()))) {
      Config driver = cluster.nodes.get(0).system().settings().config().getConfig("datastax-java-driver");
      assertEquals(ROLE, driver.getString("advanced.auth-provider.username"));
      assertEquals(truststore.toString(), driver.getString("advanced.ssl-engine-factory.truststore-path"));

      Http.textModel(cluster, "secure-text");
      cluster.awaitWorkerReady("secure-text", "v1");
      String key = Http.tenantWithKey(cluster, "secure-tenant", 1000, 4);
      InferResponse r = TestCluster.infer(cluster.client(0), key, "secure-text", "secure-1", "metered over TLS");
      assertEquals("TLS over metered", r.getText().getCompletion());

      // the ledger row, read back through a login of the node's role over TLS
      String month = YearMonth.now(ZoneOffset.UTC).toString();
      try (CqlSession asNode = session(ROLE, rolePassword)) {
        TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(250),
            () -> {
              List<Row> rows = asNode.execute("SELECT request_id, model, charge_micros FROM "
                  + cluster.billingKeyspace() + ".ledger_rows WHERE tenant_id = ? AND month = ? AND bucket = 0",
                  "secure-tenant", month).all();
              assertEquals(1, rows.size(), "ledger rows of secure-tenant");
              assertEquals("secure-1", rows.get(0).getString("request_id"));
              assertEquals("secure-text", rows.get(0).getString("model"));
              assertEquals(r.getUsage().getChargeUsd(), Money.format(rows.get(0).getLong("charge_micros")));
              return null;
            });
      }
    }
    assertNoPasswordLogged();
  }

  @Test
  void aNodeWithAWrongPasswordDoesNotStartAndSaysAuthenticationFailed() throws Exception {
    String wrong = secret();
    int logFrom = logs.lines().size();
    Path wrongFile = ownerOnlyFile("wrong-password", wrong);
    Throwable failure = nodeStartFailure(Map.of(
        "AIMOS_CASSANDRA_USERNAME", ROLE,
        "AIMOS_CASSANDRA_PASSWORD_FILE", wrongFile.toString(),
        "AIMOS_CASSANDRA_TRUSTSTORE", truststore.toString(),
        "AIMOS_CASSANDRA_TRUSTSTORE_PASSWORD_FILE", truststorePasswordFile.toString()));
    AllNodesFailedException all = assertInstanceOf(AllNodesFailedException.class, rootOrAllNodesFailed(failure));
    Throwable onNode = all.getAllErrors().values().iterator().next().get(0);
    assertInstanceOf(AuthenticationException.class, onNode, () -> describe(failure));
    assertTrue(onNode.getMessage().contains(ROLE), onNode.getMessage());
    assertFalse(describe(failure).contains(wrong), "the password is in the error");
    // what an operator sees in the log, whether or not the driver retries (advanced.reconnect-on-init)
    List<String> captured = logs.lines();
    List<String> nodeLog = captured.subList(logFrom, captured.size());
    assertTrue(nodeLog.stream().anyMatch(l -> l.contains("Authentication errors encountered")),
        () -> "the log names authentication:\n" + String.join("\n", nodeLog));
    assertFalse(logs.lines().stream().anyMatch(l -> l.contains(wrong)), "the wrong password is in the log");
    assertNoPasswordLogged();
  }

  @Test
  void aNodeWithoutTheTruststoreCannotConnect() throws Exception {
    Throwable failure = nodeStartFailure(Map.of(
        "AIMOS_CASSANDRA_USERNAME", ROLE,
        "AIMOS_CASSANDRA_PASSWORD_FILE", passwordFile.toString()));
    AllNodesFailedException all = assertInstanceOf(AllNodesFailedException.class, rootOrAllNodesFailed(failure));
    Throwable onNode = all.getAllErrors().values().iterator().next().get(0);
    // the server drops the plaintext connection at its first request (OPTIONS), long before any login
    assertInstanceOf(ConnectionInitException.class, onNode, () -> describe(failure));
    assertNoPasswordLogged();
  }

  /** Starts a node that is expected not to start, and returns why. */
  private static Throwable nodeStartFailure(Map<String, String> env) throws Exception {
    Config config = TestCluster.singleNodeConfig(contact, NO_RETRY_ON_INIT, env);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "aimos", config);
    try {
      return assertThrows(RuntimeException.class, () -> Main.init(system), "the node started");
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  private static Throwable rootOrAllNodesFailed(Throwable t) {
    Throwable cause = t;
    while (cause instanceof CompletionException || (cause.getCause() != null
        && !(cause instanceof AllNodesFailedException))) {
      cause = cause.getCause();
    }
    return cause;
  }

  private static String describe(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      b.append(c).append('\n');
      if (c instanceof AllNodesFailedException all) {
        all.getAllErrors().values().forEach(errors -> errors.forEach(e -> b.append("  ").append(e).append('\n')));
      }
    }
    return b.toString();
  }

  private static void assertNoPasswordLogged() {
    for (String line : logs.lines()) {
      assertFalse(line.contains(rolePassword), () -> "the role's password is in the log: " + line);
      assertFalse(line.contains(truststorePassword), () -> "the truststore's password is in the log: " + line);
    }
  }

  /** A session of the test's own, trusting the local CA and checking the server's name, as the node does. */
  private static CqlSession session(String user, String password) {
    Config driver = ConfigFactory.parseString("""
        basic.contact-points = ["%s"]
        basic.load-balancing-policy.local-datacenter = datacenter1
        basic.request.timeout = 10s
        advanced.auth-provider.class = PlainTextAuthProvider
        advanced.ssl-engine-factory.class = DefaultSslEngineFactory
        advanced.ssl-engine-factory.hostname-validation = true
        """.formatted(contact))
        .withValue("advanced.auth-provider.username", ConfigValueFactory.fromAnyRef(user))
        .withValue("advanced.auth-provider.password", ConfigValueFactory.fromAnyRef(password))
        .withValue("advanced.ssl-engine-factory.truststore-path", ConfigValueFactory.fromAnyRef(truststore.toString()))
        .withValue("advanced.ssl-engine-factory.truststore-password", ConfigValueFactory.fromAnyRef(truststorePassword))
        .withFallback(ConfigFactory.defaultReference().getConfig("datastax-java-driver"));
    return CqlSession.builder().withConfigLoader(new DefaultDriverConfigLoader(() -> driver)).build();
  }

  private static String secret() {
    byte[] bytes = new byte[24];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  private static Path ownerOnlyFile(String name, String content) throws Exception {
    Path file = Files.createFile(work.resolve(name),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, content + "\n");
    return file;
  }

  private static void store(KeyStore ks, Path file, String password) throws Exception {
    try (var out = Files.newOutputStream(file)) {
      ks.store(out, password.toCharArray());
    }
  }

  /** Every log line of this JVM while the test runs, with the messages of its exceptions and their causes. */
  private static final class CapturedLogs extends AppenderBase<ILoggingEvent> {
    private final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();

    @Override
    public void start() {
      setContext((ch.qos.logback.classic.LoggerContext) LoggerFactory.getILoggerFactory());
      super.start();
      root().addAppender(this);
    }

    @Override
    public void stop() {
      root().detachAppender(this);
      super.stop();
    }

    private static Logger root() {
      return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    }

    @Override
    protected void append(ILoggingEvent event) {
      StringBuilder line = new StringBuilder(event.getLoggerName()).append(" - ").append(event.getFormattedMessage());
      for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
        line.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
      }
      lines.add(line.toString());
    }

    List<String> lines() {
      return List.copyOf(lines);
    }
  }
}
