package aimos.chaos.cluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** {@code bin/aimos cluster up [--nodes N] [--netns] | status | down}: a local cluster of node processes. */
public final class ClusterCommand {
  private ClusterCommand() {}

  static final String HELP = """
      Usage: bin/aimos cluster up [--nodes N] [--netns] [--plaintext]
             bin/aimos cluster status
             bin/aimos cluster down
        up        one Cassandra and N (1-5, default 3) nodes; node i: gateway 808i, management 856i, remoting 2552i
        --netns   each node in its own network namespace (10.213.0.1i, bridge aimosbr 10.213.0.1 where Cassandra
                  listens), so that network-partition drills can cut links between nodes; needs root
        --plaintext     no TLS (also AIMOS_DEV_PLAINTEXT=1). Without it every port speaks TLS with a certificate
                        from the local CA in $AIMOS_TLS_DIR (default .aimos/tls), made on first start:
                        curl --cacert .aimos/tls/ca.crt https://127.0.0.1:8561/ready
      The cluster's files (logs, pids, Cassandra's data) are in $AIMOS_CLUSTER_DIR (default .aimos/cluster).
      """;

  public static void main(String[] args) {
    Path dir = Path.of(System.getenv().getOrDefault("AIMOS_CLUSTER_DIR", ".aimos/cluster")).toAbsolutePath();
    String cmd = args.length == 0 ? "help" : args[0];
    if (args.length > 1 && !cmd.equals("up")) {
      System.err.print("'cluster " + cmd + "' takes no options, was '" + args[1] + "'.\n" + HELP);
      System.exit(2);
    }
    try {
      switch (cmd) {
        case "up" -> up(dir, Arrays.asList(args).subList(1, args.length));
        case "status" -> status(dir);
        case "down" -> down(dir);
        case "help", "--help" -> System.out.print(HELP);
        default -> {
          System.err.print("Unknown cluster command '" + cmd + "'.\n" + HELP);
          System.exit(2);
        }
      }
    } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
      System.err.println(e.getMessage());
      System.exit(1);
    }
    System.exit(0);
  }

  private static void up(Path dir, List<String> options) throws IllegalArgumentException {
    int nodes = 3;
    boolean netns = false;
    boolean plaintext = aimos.chaos.tls.ClientTls.plaintextRequested(System::getenv);
    for (int i = 0; i < options.size(); i++) {
      switch (options.get(i)) {
        case "--nodes" -> {
          if (i + 1 >= options.size() || !options.get(i + 1).matches("[1-5]")) {
            System.err.println("--nodes must be between 1 and 5 (local1.conf .. local5.conf)");
            System.exit(2);
          }
          nodes = Integer.parseInt(options.get(++i));
        }
        case "--netns" -> netns = true;
        case "--plaintext" -> plaintext = true;
        default -> {
          System.err.print("Unknown option '" + options.get(i) + "'.\n" + HELP);
          System.exit(2);
        }
      }
    }
    Optional<LocalCluster> running = LocalCluster.open(dir, s -> { });
    if (running.isPresent() && running.get().cassandraLauncherPid().flatMap(ProcessHandle::of)
        .map(ProcessHandle::isAlive).orElse(false)) {
      throw new IllegalStateException("A local cluster is already running in " + dir
          + " (see 'bin/aimos cluster status'); stop it with 'bin/aimos cluster down'.");
    }
    String classpath = System.getenv("AIMOS_NODE_CLASSPATH");
    if (classpath == null || classpath.isBlank()) {
      throw new IllegalStateException("AIMOS_NODE_CLASSPATH is not set; start clusters with 'bin/aimos cluster up'");
    }
    int cql = Integer.parseInt(System.getenv().getOrDefault("AIMOS_CASSANDRA_PORT", "9042"));
    int storage = Integer.parseInt(System.getenv().getOrDefault("AIMOS_CASSANDRA_STORAGE_PORT", "7000"));
    String opts = System.getenv().getOrDefault("AIMOS_JVM_OPTS", "").strip();
    LocalCluster.Layout layout = new LocalCluster.Layout(dir, nodes, netns ? "aimos" : null, "10.213.0",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), classpath,
        opts.isEmpty() ? List.of() : List.of(opts.split("\\s+")),
        (netns ? "10.213.0.1" : "127.0.0.1") + ":" + cql);
    LocalCluster cluster = new LocalCluster(layout, System.out::println);
    try {
      Files.createDirectories(dir);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot create " + dir + ": " + e.getMessage());
    }
    if (plaintext) {
      System.out.println("Plaintext (--plaintext / AIMOS_DEV_PLAINTEXT): no TLS on any port; tools need "
          + "AIMOS_DEV_PLAINTEXT=1 to reach nodes outside this cluster's directory");
    } else {
      aimos.chaos.tls.LocalCa.Issued tls = aimos.chaos.tls.LocalCa.ensure(aimos.chaos.tls.LocalCa.defaultDir(),
          cluster.hostNames());
      cluster.useTls(tls);
      tls.howToUse().forEach(System.out::println);
    }
    cluster.createNetwork();
    cluster.save();
    System.out.println("Starting Cassandra (data in " + dir.resolve("cassandra") + ", log " + dir.resolve("cassandra.log")
        + ")...");
    cluster.startCassandra(cql, storage);
    cluster.startAll(Duration.ofMinutes(3));
    System.out.println("Local cluster of " + nodes + " nodes is up. Its admin and secops tokens: "
        + (System.getenv("AIMOS_ADMIN_TOKEN") != null ? "from your environment" : "in " + cluster.tokensFile()
        + " (load them with: set -a; . " + cluster.tokensFile() + "; set +a)"));
    status(dir);
  }

  private static LocalCluster existing(Path dir) {
    return LocalCluster.open(dir, System.out::println).orElseThrow(() -> new IllegalStateException(
        "No local cluster here (" + dir + "). Start one with 'bin/aimos cluster up'."));
  }

  private static void status(Path dir) {
    ClusterStatus.of(dir).lines().forEach(System.out::println);
  }

  private static void down(Path dir) {
    LocalCluster cluster = existing(dir);
    for (int i = cluster.size(); i >= 1; i--) {
      if (cluster.isAlive(i)) {
        System.out.println("Stopping node " + i + " (pid " + cluster.pid(i).orElseThrow() + ")...");
        if (!cluster.stop(i)) {
          System.out.println("  node " + i + " did not stop within 60 s and was killed");
        }
      }
    }
    if (cluster.cassandraLauncherPid().isPresent()) {
      System.out.println("Stopping Cassandra...");
      cluster.stopCassandra();
    }
    cluster.removeNetwork();
    System.out.println("Local cluster stopped (data kept in " + dir + "; delete it to start from nothing).");
  }
}
