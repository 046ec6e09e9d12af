package aimos.chaos.drill;

import aimos.chaos.cluster.LocalCluster;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** {@code bin/aimos chaos list | run <drill>|all [options]}: runs drills against a running cluster. */
public final class ChaosCommand {
  private ChaosCommand() {}

  static final String HELP = """
      Usage: bin/aimos chaos list
             bin/aimos chaos run <drill>|all [options]
        --target HOST:PORT       a gateway of the cluster (default: node 1 of the local cluster, else
                                 127.0.0.1:8080); with a local cluster, load goes to every node
        --management HOST:PORT   its management HTTP (default: node 1's, else 127.0.0.1:8558)
        --admin-token-file F     file holding the admin token (default $AIMOS_ADMIN_TOKEN)
        --secops-token-file F    file holding the secops token (default $AIMOS_SECOPS_TOKEN)
        --duration D             load duration, e.g. 30s (default 30s)
        --rate N                 requests per second (default 50)
        --seed N                 seed of the traffic mix (default 1)
        --report-dir DIR         where JSON reports go (default .aimos/drills)
        --pause D                how long node-pause freezes the node, e.g. 8s (default 4s)
        --cassandra-pid PID      the Cassandra process cassandra-outage may pause (default: the local
                                 cluster's, from .aimos/cluster/cassandra.pid)
      sandbox-escape sends no load: each node (every node of the local cluster, else --management) runs a hostile
      model in one of its own sandboxes through its secops route and reports each attempt; only the secops token
      is needed.
      Node drills (node-kill, node-restart, network-partition, node-pause) act on the processes of the local cluster in
      $AIMOS_CLUSTER_DIR (default .aimos/cluster), started with 'bin/aimos cluster up' (--netns for partitions).
      TLS: a local cluster is reached as it was started; another node over TLS trusting $AIMOS_TLS_CA_FILE, else
      the local CA ($AIMOS_TLS_DIR/ca.crt) when it exists, else in plaintext (or always with AIMOS_DEV_PLAINTEXT=1).
      """;

  private static long cassandraPid(Map<String, String> o) throws java.io.IOException {
    if (o.containsKey("cassandra-pid")) {
      return Long.parseLong(o.get("cassandra-pid"));
    }
    Path file = Path.of(System.getenv().getOrDefault("AIMOS_CLUSTER_DIR", ".aimos/cluster"), "cassandra.pid");
    if (!java.nio.file.Files.exists(file)) {
      return 0;
    }
    // the pid file names the launcher; the database is its child
    long launcher = Long.parseLong(java.nio.file.Files.readString(file).strip());
    return ProcessHandle.of(launcher).flatMap(h -> h.children().findFirst()).map(ProcessHandle::pid).orElse(0L);
  }

  static final java.util.Set<String> OPTIONS = java.util.Set.of("target", "management", "admin-token",
      "admin-token-file", "secops-token", "secops-token-file", "duration", "rate", "seed", "report-dir",
      "cassandra-pid", "pause");

  public static void main(String[] args) throws Exception {
    if (args.length == 0 || args[0].equals("--help")) {
      System.out.print(HELP);
      System.exit(args.length == 0 ? 2 : 0);
    }
    if (args[0].equals("list")) {
      Drill.ALL.forEach(d -> System.out.printf("%-22s %s%n", d.name(), d.description()));
      return;
    }
    if (!args[0].equals("run") || args.length < 2) {
      System.err.print(HELP);
      System.exit(2);
    }
    List<Drill> drills;
    Map<String, String> o = new java.util.HashMap<>();
    try {
      drills = args[1].equals("all") ? Drill.ALL : List.of(Drill.named(args[1]));
      for (int i = 2; i < args.length; i += 2) {
        if (!args[i].startsWith("--") || i + 1 >= args.length) {
          throw new IllegalArgumentException("options come as --name value, was '" + args[i] + "'");
        }
        if (!OPTIONS.contains(args[i].substring(2))) {
          throw new IllegalArgumentException("unknown option '" + args[i] + "'");
        }
        o.put(args[i].substring(2), args[i + 1]);
      }
      aimos.chaos.load.LoadCommand.duration(o.getOrDefault("duration", "30s"));
      for (String n : List.of("rate", "seed", "cassandra-pid")) {
        if (o.containsKey(n) && !o.get(n).matches("[0-9]{1,9}")) {
          throw new IllegalArgumentException("--" + n + " takes a whole number, was '" + o.get(n) + "'");
        }
      }
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage() + " (see 'bin/aimos chaos --help')");
      System.exit(2);
      return;
    }
    if (o.containsKey("pause")) {
      java.time.Duration pause = aimos.chaos.load.LoadCommand.duration(o.get("pause"));
      drills = drills.stream().map(d -> d.fault().equals(Drill.NODE_PAUSE) ? d.lasting(pause) : d).toList();
    }
    String admin = aimos.chaos.cli.Secrets.of(o, "admin-token", "AIMOS_ADMIN_TOKEN");
    String secops = aimos.chaos.cli.Secrets.of(o, "secops-token", "AIMOS_SECOPS_TOKEN");
    boolean escapeOnly = drills.stream().allMatch(d -> d.fault().equals(Drill.SANDBOX_ESCAPE));
    if (secops.isEmpty() && escapeOnly) {
      System.err.println("sandbox-escape needs the secops token: AIMOS_SECOPS_TOKEN or --secops-token-file");
      System.exit(2);
    }
    if (!escapeOnly && (admin.isEmpty() || secops.isEmpty())) {
      System.err.println("drills need the admin and the secops token: AIMOS_ADMIN_TOKEN and "
          + "AIMOS_SECOPS_TOKEN, or --admin-token-file and --secops-token-file (the node needs AIMOS_SECOPS_TOKEN set "
          + "too)");
      System.exit(2);
    }
    LocalCluster cluster = LocalCluster.open(Path.of(System.getenv().getOrDefault("AIMOS_CLUSTER_DIR",
        ".aimos/cluster")), line -> System.out.println("  " + line)).filter(c -> c.isAlive(1) || c.isAlive(2))
        .orElse(null);
    DrillRun.Settings settings = new DrillRun.Settings(
        o.getOrDefault("target", cluster == null ? "127.0.0.1:8080" : cluster.gateway(1)),
        o.getOrDefault("management", cluster == null ? "127.0.0.1:8558" : cluster.management(1)), admin, secops,
        aimos.chaos.load.LoadCommand.duration(o.getOrDefault("duration", "30s")),
        Integer.parseInt(o.getOrDefault("rate", "50")), Long.parseLong(o.getOrDefault("seed", "1")),
        Path.of(o.getOrDefault("report-dir", ".aimos/drills")), cassandraPid(o), cluster);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "aimos-chaos", ConfigFactory.load());
    List<String> failed = new ArrayList<>();
    try {
      for (Drill d : drills) {
        System.out.println("== " + d.name() + ": " + d.description());
        Map<String, Object> report = new DrillRun(system, settings, line -> System.out.println("  " + line),
            cluster != null ? cluster.clientTls() : aimos.chaos.tls.ClientTls.fromEnvironment()).run(d);
        System.out.print(DrillRun.summary(report));
        if (!"PASS".equals(report.get("verdict"))) {
          failed.add(d.name());
        }
      }
    } finally {
      system.terminate();
    }
    System.out.println(failed.isEmpty() ? "All drills passed." : "Failed: " + String.join(", ", failed));
    System.exit(failed.isEmpty() ? 0 : 1);
  }
}
