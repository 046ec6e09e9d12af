package aimos.cassandra;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs Apache Cassandra ({@code cassandra-all}) as a child JVM on this host: writes its configuration under the data
 * directory, starts it, waits until CQL answers and stops it cleanly. Cassandra never shares our classpath: its own
 * classpath was resolved at build time into {@code aimos/cassandra/server.classpath}.
 */
public final class CassandraLauncher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CassandraLauncher.class);
  private static final String CLASSPATH_RESOURCE = "aimos/cassandra/server.classpath";

  /** Java feature releases Cassandra 5.0 runs on. */
  private static final List<Integer> SUPPORTED_JAVA = List.of(11, 17);

  private static final List<String> JPMS_FLAGS = List.of(
      "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
      "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
      "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
      "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
      "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
      "--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
      "--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
      "--add-exports", "jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
      "--add-exports", "jdk.attach/sun.tools.attach=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
      "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
      "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
      "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
      "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
      "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
      "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
      "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
      "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens", "java.base/java.io=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
      "--add-opens", "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang=ALL-UNNAMED",
      "--add-opens", "java.base/java.util=ALL-UNNAMED");

  /**
   * Where and how to run the server. With {@code passwordAuthentication} every client logs in (PasswordAuthenticator,
   * CassandraAuthorizer; Cassandra makes the superuser {@code cassandra}/{@code cassandra} shortly after start); with
   * {@code clientTls} set, clients must speak TLS on the native port (null: plaintext). A {@code disposable} server's
   * data is thrown away after use (tests): it neither fsyncs nor flushes its schema tables on every schema change, as
   * Cassandra's own test suite runs; what it writes still survives a restart of the server (the commit log is
   * replayed), only not a crash of the machine.
   */
  public record Settings(Path dataDir, String host, int nativePort, int storagePort, String maxHeap,
                         Path javaHome, Duration startTimeout, boolean passwordAuthentication, ClientTls clientTls,
                         boolean disposable) {
    public Settings {
      if (nativePort == storagePort) {
        throw new IllegalArgumentException("native and storage ports must differ, both are " + nativePort);
      }
    }

    /** An open server: no login, no TLS. */
    public Settings(Path dataDir, String host, int nativePort, int storagePort, String maxHeap, Path javaHome,
                    Duration startTimeout) {
      this(dataDir, host, nativePort, storagePort, maxHeap, javaHome, startTimeout, false, null, false);
    }

    public static Settings defaults(Path dataDir) {
      return new Settings(dataDir, "127.0.0.1", 9042, 7000, "1g",
          Path.of(System.getProperty("java.home")), Duration.ofSeconds(120));
    }

    public Settings withPorts(int nativePort, int storagePort) {
      return new Settings(dataDir, host, nativePort, storagePort, maxHeap, javaHome, startTimeout,
          passwordAuthentication, clientTls, disposable);
    }

    public Settings withHost(String host) {
      return new Settings(dataDir, host, nativePort, storagePort, maxHeap, javaHome, startTimeout,
          passwordAuthentication, clientTls, disposable);
    }

    public Settings withMaxHeap(String maxHeap) {
      return new Settings(dataDir, host, nativePort, storagePort, maxHeap, javaHome, startTimeout,
          passwordAuthentication, clientTls, disposable);
    }

    /** Clients must log in; roles and permissions are Cassandra's own (CassandraRoleManager, CassandraAuthorizer). */
    public Settings withPasswordAuthentication() {
      return new Settings(dataDir, host, nativePort, storagePort, maxHeap, javaHome, startTimeout, true, clientTls,
          disposable);
    }

    /** Clients must speak TLS on the native port, the server presenting the key and certificate of {@code tls}. */
    public Settings withClientTls(ClientTls tls) {
      return new Settings(dataDir, host, nativePort, storagePort, maxHeap, javaHome, startTimeout,
          passwordAuthentication, tls, disposable);
    }

    /** A server whose data is thrown away after use: no fsync, no flush of the schema tables per schema change. */
    public Settings asDisposable() {
      return new Settings(dataDir, host, nativePort, storagePort, maxHeap, javaHome, startTimeout,
          passwordAuthentication, clientTls, true);
    }

    /**
     * The address clients on this host use. {@code host} 0.0.0.0 serves CQL on every interface (nodes in network
     * namespaces reach it over a bridge) and gossips on loopback.
     */
    public String localHost() {
      return host.equals("0.0.0.0") ? "127.0.0.1" : host;
    }
  }

  /**
   * The server side of client TLS: a PKCS#12 keystore holding the server's private key and certificate chain. No client
   * certificate is asked for.
   */
  public record ClientTls(Path keystore, String keystorePassword) {
    public ClientTls {
      if (!Files.isReadable(keystore)) {
        throw new IllegalArgumentException("Cassandra's keystore " + keystore + " cannot be read");
      }
      if (keystorePassword == null || keystorePassword.isEmpty()) {
        throw new IllegalArgumentException("Cassandra's keystore " + keystore + " needs its password");
      }
    }

    @Override
    public String toString() {
      return "ClientTls[keystore=" + keystore + "]";
    }
  }

  private final Settings settings;
  private final Process process;
  private final Thread shutdownHook;

  private CassandraLauncher(Settings settings, Process process) {
    this.settings = settings;
    this.process = process;
    this.shutdownHook = new Thread(this::stopProcess, "cassandra-child-stop");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts Cassandra and returns once it accepts CQL connections. */
  public static CassandraLauncher start(Settings settings) {
    checkJava(settings.javaHome());
    checkPortFree(settings.host(), settings.nativePort(), "CQL (native transport)");
    checkPortFree(settings.localHost(), settings.storagePort(), "storage (gossip)");
    try {
      Path dir = settings.dataDir().toAbsolutePath();
      Files.createDirectories(dir.resolve("conf"));
      Files.createDirectories(dir.resolve("logs"));
      Path yaml = dir.resolve("conf/cassandra.yaml");
      Files.writeString(yaml, yaml(settings, dir));
      Path logback = dir.resolve("conf/logback.xml");
      Files.writeString(logback, LOGBACK);
      Path out = dir.resolve("logs/cassandra.out");

      List<String> cmd = new ArrayList<>();
      cmd.add(settings.javaHome().resolve("bin/java").toString());
      cmd.add("-Xms256m");
      cmd.add("-Xmx" + settings.maxHeap());
      cmd.add("-XX:+UseG1GC");
      cmd.add("-Djava.util.concurrent.ForkJoinPool.common.parallelism=4");
      cmd.addAll(JPMS_FLAGS);
      cmd.addAll(systemProperties(settings, dir, yaml, logback));
      cmd.add("-cp");
      cmd.add(serverClasspath());
      cmd.add("org.apache.cassandra.service.CassandraDaemon");

      log.info("Starting Cassandra on {}:{} with data in {} (log: {})",
          settings.host(), settings.nativePort(), dir, out);
      Process p = new ProcessBuilder(cmd)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
          .start();
      CassandraLauncher launcher = new CassandraLauncher(settings, p);
      launcher.awaitCql(out);
      return launcher;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start Cassandra under " + settings.dataDir() + ": " + e.getMessage(), e);
    }
  }

  public Settings settings() {
    return settings;
  }

  public int nativePort() {
    return settings.nativePort();
  }

  public String contactPoint() {
    return settings.localHost() + ":" + settings.nativePort();
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** For a launcher that orders its own shutdown (stop the node first, then Cassandra). */
  public void detachShutdownHook() {
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // already running the hooks
    }
  }

  /** The server's system properties: where its files are, start-up without waits, and what a disposable one skips. */
  static List<String> systemProperties(Settings settings, Path dir, Path yaml, Path logback) {
    List<String> props = new ArrayList<>(List.of(
        "-Djdk.attach.allowAttachSelf=true",
        "-Dio.netty.tryReflectionSetAccessible=true",
        "-Dcassandra.config=" + yaml.toUri(),
        "-Dcassandra.storagedir=" + dir,
        "-Dcassandra-foreground=yes",
        "-Dcassandra.logdir=" + dir.resolve("logs"),
        "-Dlogback.configurationFile=" + logback,
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=100",
        "-Dcassandra.superuser_setup_delay_ms=0"));
    if (settings.disposable()) {
      props.add("-Dcassandra.test.flush_local_schema_changes=false");
      props.add("-Dcassandra.skip_sync=true");
    }
    return props;
  }

  /** Stops the server with SIGTERM, waiting for it to flush; kills it if it has not stopped in 60 s. */
  @Override
  public void close() {
    stopProcess();
    detachShutdownHook();
  }

  private void stopProcess() {
    if (!process.isAlive()) {
      return;
    }
    log.info("Stopping Cassandra (pid {})", process.pid());
    process.destroy();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        log.warn("Cassandra did not stop within 60 s; killing it");
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  private void awaitCql(Path out) {
    long deadline = System.nanoTime() + settings.startTimeout().toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("Cassandra exited with code " + process.exitValue()
            + " while starting. Last lines of " + out + ":\n" + tail(out, 30));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(settings.localHost(), settings.nativePort()), 500);
        log.info("Cassandra answers CQL on {}:{}", settings.host(), settings.nativePort());
        return;
      } catch (IOException notYet) {
        sleepQuietly(250);
      }
    }
    stopProcess();
    throw new IllegalStateException("Cassandra did not answer CQL on " + contactPoint() + " within "
        + settings.startTimeout().toSeconds() + " s. Last lines of " + out + ":\n" + tail(out, 30));
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for Cassandra", e);
    }
  }

  static void checkJava(Path javaHome) {
    int feature = javaFeatureVersion(javaHome);
    if (!SUPPORTED_JAVA.contains(feature)) {
      throw new IllegalStateException("Cassandra 5.0 runs on Java 11 or 17, but " + javaHome + " is Java " + feature
          + ". Point AIMOS_CASSANDRA_JAVA_HOME at a Java 17 installation (for example /usr/lib/jvm/java-17-openjdk-amd64).");
    }
  }

  static int javaFeatureVersion(Path javaHome) {
    Path release = javaHome.resolve("release");
    try {
      for (String line : Files.readAllLines(release)) {
        if (line.startsWith("JAVA_VERSION=")) {
          String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
          String first = v.startsWith("1.") ? v.substring(2) : v;
          return Integer.parseInt(first.split("[.+-]")[0]);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // fall through
    }
    if (javaHome.equals(Path.of(System.getProperty("java.home")))) {
      return Runtime.version().feature();
    }
    throw new IllegalStateException("Cannot tell the Java version of " + javaHome + " (no readable 'release' file). "
        + "Point AIMOS_CASSANDRA_JAVA_HOME at a Java 17 installation.");
  }

  static void checkPortFree(String host, int port, String what) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(host, port));
    } catch (IOException e) {
      throw new IllegalStateException("Cassandra's " + what + " port " + host + ":" + port
          + " is already in use (another Cassandra or 'bin/aimos dev' may be running: see `ss -ltnp | grep :" + port
          + "`). Stop it, or choose other ports with AIMOS_CASSANDRA_PORT / AIMOS_CASSANDRA_STORAGE_PORT.");
    }
  }

  /** A port that was free a moment ago on the loopback interface. */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String serverClasspath() throws IOException {
    try (InputStream in = CassandraLauncher.class.getClassLoader().getResourceAsStream(CLASSPATH_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("Missing " + CLASSPATH_RESOURCE + ": build the project with `mvn -B install -DskipTests` first.");
      }
      String cp = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      String first = cp.split(java.io.File.pathSeparator)[0];
      if (!Files.exists(Path.of(first))) {
        throw new IllegalStateException("Cassandra's classpath names " + first + ", which is missing: "
            + "rebuild with `mvn -B install -DskipTests` to fetch it again.");
      }
      return cp;
    }
  }

  private static String tail(Path file, int lines) {
    try {
      List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e.getMessage() + ")";
    }
  }

  static String yaml(Settings s, Path dir) {
    return """
        cluster_name: 'AIMOS'
        num_tokens: 16
        partitioner: org.apache.cassandra.dht.Murmur3Partitioner
        %6$s
        endpoint_snitch: SimpleSnitch
        seed_provider:
          - class_name: org.apache.cassandra.locator.SimpleSeedProvider
            parameters:
              - seeds: "%5$s:%3$d"
        listen_address: %5$s
        rpc_address: %1$s
        broadcast_rpc_address: %5$s
        native_transport_port: %2$d
        storage_port: %3$d
        start_native_transport: true
        data_file_directories:
          - %4$s/data
        commitlog_directory: %4$s/commitlog
        saved_caches_directory: %4$s/saved_caches
        hints_directory: %4$s/hints
        cdc_raw_directory: %4$s/cdc_raw
        commitlog_sync: periodic
        commitlog_sync_period: 2000ms
        auto_snapshot: false
        snapshot_before_compaction: false
        concurrent_reads: 16
        concurrent_writes: 32
        read_request_timeout: 5000ms
        write_request_timeout: 5000ms
        range_request_timeout: 10000ms
        request_timeout: 10000ms
        batch_size_warn_threshold: 64KiB
        batch_size_fail_threshold: 1024KiB
        disk_failure_policy: stop
        commit_failure_policy: stop
        %7$s""".formatted(s.host(), s.nativePort(), s.storagePort(), dir, s.localHost(), access(s), clientEncryption(s));
  }

  private static String access(Settings s) {
    return s.passwordAuthentication() ? """
        authenticator: PasswordAuthenticator
        authorizer: CassandraAuthorizer
        role_manager: CassandraRoleManager""" : """
        authenticator: AllowAllAuthenticator
        authorizer: AllowAllAuthorizer""";
  }

  private static String clientEncryption(Settings s) {
    if (s.clientTls() == null) {
      return "";
    }
    // no client certificates are checked, but Cassandra loads a truststore all the same: the keystore serves as one
    return """
        client_encryption_options:
          enabled: true
          optional: false
          require_client_auth: false
          store_type: PKCS12
          keystore: '%1$s'
          keystore_password: '%2$s'
          truststore: '%1$s'
          truststore_password: '%2$s'
        """.formatted(s.clientTls().keystore().toAbsolutePath(), s.clientTls().keystorePassword().replace("'", "''"));
  }

  private static final String LOGBACK = """
      <configuration>
        <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
          <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n</pattern></encoder>
        </appender>
        <root level="INFO"><appender-ref ref="STDOUT"/></root>
      </configuration>
      """;
}
