package aimos.cassandra;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Runs Cassandra in the foreground until this process is stopped (SIGTERM / Ctrl-C), for scripts such as
 * {@code bin/aimos cluster up}: {@code CassandraMain <data dir> [cql port] [storage port] [cql host]} (cql host 0.0.0.0: every interface).
 */
public final class CassandraMain {
  private CassandraMain() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length < 1) {
      System.err.println("usage: CassandraMain <data dir> [cql port] [storage port] [cql host]");
      System.exit(2);
    }
    int cql = args.length > 1 ? Integer.parseInt(args[1]) : 9042;
    int storage = args.length > 2 ? Integer.parseInt(args[2]) : 7000;
    String host = args.length > 3 ? args[3] : "127.0.0.1";
    String javaHome = System.getenv().getOrDefault("AIMOS_CASSANDRA_JAVA_HOME", System.getProperty("java.home"));
    CassandraLauncher cassandra;
    try {
      cassandra = CassandraLauncher.start(new CassandraLauncher.Settings(Path.of(args[0]), host, cql, storage,
          "1g", Path.of(javaHome), Duration.ofSeconds(180)));
    } catch (RuntimeException e) {
      System.err.println("Cassandra did not start: " + e.getMessage());
      System.exit(1);
      return;
    }
    System.out.println("Cassandra is up on " + cassandra.contactPoint() + " (pid " + cassandra.pid() + ")");
    while (cassandra.isAlive()) {
      Thread.sleep(1000);
    }
    System.err.println("Cassandra exited; see " + Path.of(args[0], "logs", "cassandra.out"));
    System.exit(1);
  }
}
