package aimos.cassandra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One Cassandra per JVM for tests: started on first use on free ports in a temporary directory, stopped when the JVM
 * exits. Tests isolate themselves by keyspace or ids. Set {@code AIMOS_TEST_CASSANDRA=host:port} to use a running
 * server instead.
 */
public final class SharedCassandra {
  private static CassandraLauncher instance;
  private static String external = System.getenv("AIMOS_TEST_CASSANDRA");

  private SharedCassandra() {}

  /** "host:port" of the shared server, starting it if needed. */
  public static synchronized String contactPoint() {
    if (external != null && !external.isBlank()) {
      return external;
    }
    if (instance == null || !instance.isAlive()) {
      try {
        Path dir = Files.createTempDirectory("aimos-test-cassandra");
        // CQL on every interface: tests put nodes in network namespaces that reach it over a bridge
        int cql = CassandraLauncher.freePort();
        int storage = CassandraLauncher.freePort();
        while (storage == cql) {
          // the kernel may hand out the port it just took back
          storage = CassandraLauncher.freePort();
        }
        instance = CassandraLauncher.start(CassandraLauncher.Settings.defaults(dir)
            .withPorts(cql, storage).withHost("0.0.0.0").asDisposable());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return instance.contactPoint();
  }

  public static synchronized int port() {
    String cp = contactPoint();
    return Integer.parseInt(cp.substring(cp.lastIndexOf(':') + 1));
  }

  /** The running launcher, for tests that stop and start the server. Null when an external server is used. */
  public static synchronized CassandraLauncher launcher() {
    contactPoint();
    return instance;
  }
}
