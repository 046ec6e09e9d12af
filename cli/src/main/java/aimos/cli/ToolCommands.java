package aimos.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The tools that run for a while in this process (load, benchmarks, a local cluster, drills): each takes its own
 * options, checks them (an unknown one is a usage error, exit status 2) and prints its progress.
 */
final class ToolCommands {
  private ToolCommands() {}

  /** Hands the arguments to a tool's main, which exits with its own status. */
  abstract static class Tool implements Callable<Integer> {
    @Parameters(paramLabel = "ARGS", arity = "0..*", description = "the tool's options (--help lists them)")
    List<String> args = new ArrayList<>();

    abstract void main(String[] args) throws Exception;

    @Override
    public Integer call() throws Exception {
      main(args.toArray(String[]::new));
      return 0;
    }
  }

  /** Options given on the command line, as the tool's main takes them ({@code --name value} or {@code --flag}). */
  static final class Args {
    private final List<String> list = new ArrayList<>();

    Args add(String name, Object value) {
      if (value != null) {
        list.add("--" + name);
        list.add(value.toString());
      }
      return this;
    }

    Args flag(String name, boolean on) {
      if (on) {
        list.add("--" + name);
      }
      return this;
    }

    String[] array() {
      return list.toArray(String[]::new);
    }
  }

  @Command(name = "load", description = {"Drive Infer at a concurrency for a duration, then the same load against a "
      + "bare gRPC echo service; prints throughput and p50/p95/p99 of both and their ratio.",
      "Takes AIMOS_API_KEY (a tenant whose plan allows the load), else AIMOS_ADMIN_TOKEN (creates a tenant with "
          + "limits far above the load)."})
  static final class Load implements Callable<Integer> {
    @Option(names = "--target", paramLabel = "HOST:PORT", description = "gateway to load (default 127.0.0.1:8080)")
    String target;

    @Option(names = "--management", paramLabel = "HOST:PORT",
        description = "management HTTP for the admin token (default 127.0.0.1:8558)")
    String management;

    @Option(names = "--model", paramLabel = "NAME", description = "model to call (default demo-text)")
    String model;

    @Option(names = "--concurrency", paramLabel = "N", description = "requests in flight (default 64)")
    String concurrency;

    @Option(names = "--duration", paramLabel = "D", description = "measured time, e.g. 20s (default 20s)")
    String duration;

    @Option(names = "--warmup", paramLabel = "D", description = "unmeasured warm-up before each phase (default 5s)")
    String warmup;

    @Option(names = "--seed", paramLabel = "N", description = "seed for the prompts (default 1)")
    String seed;

    @Option(names = "--skip-echo", description = "measure only the metered path")
    boolean skipEcho;

    @Option(names = "--tenants", paramLabel = "N",
        description = "spread the load over N tenants (1-1000, default 1; N > 1 needs the admin token)")
    String tenants;

    @Option(names = "--sweep", description = "measure at 1, 8, 64 and 256 in flight (each against the echo) and "
        + "print one table")
    boolean sweep;

    @Option(names = "--api-key-file", paramLabel = "FILE", description = "file holding the API key "
        + "(default $AIMOS_API_KEY)")
    String apiKeyFile;

    @Option(names = "--admin-token-file", paramLabel = "FILE", description = "file holding the admin token "
        + "(default $AIMOS_ADMIN_TOKEN)")
    String adminTokenFile;

    @Override
    public Integer call() {
      aimos.chaos.load.LoadCommand.main(new Args().add("target", target).add("management", management)
          .add("model", model).add("concurrency", concurrency).add("duration", duration).add("warmup", warmup)
          .add("seed", seed).flag("skip-echo", skipEcho).add("tenants", tenants).flag("sweep", sweep)
          .add("api-key-file", apiKeyFile).add("admin-token-file", adminTokenFile).array());
      return 0;
    }
  }

  @Command(name = "bench", description = "Benchmarks.", subcommands = {Bench.Sandbox.class, Bench.Runtimes.class,
      Bench.Freshness.class, Bench.History.class})
  static final class Bench {
    @Command(name = "sandbox",
        description = {"Sandbox cold start, and the text runtime in-process vs through a sandbox process.",
            "Arguments: [CONCURRENCY (default 4)] [SECONDS (default 15)] [STARTS (default 5)]."})
    static final class Sandbox extends Tool {
      @Override
      void main(String[] args) throws Exception {
        aimos.chaos.bench.SandboxBench.main(args);
      }
    }

    @Command(name = "runtimes",
        description = {"Each model runtime in-process vs through a running node, one request at a time: "
            + "p50/p95/p99 and the platform's overhead (needs AIMOS_ADMIN_TOKEN).",
            "Options: --requests N, --runtimes a,b, --target HOST:PORT, --management HOST:PORT."})
    static final class Runtimes extends Tool {
      @Override
      void main(String[] args) throws Exception {
        aimos.chaos.bench.RuntimeBench.main(args);
      }
    }

    @Command(name = "freshness",
        description = {"Answer -> visible in GetUsage of metered requests sent at a fixed rate to a running node "
            + "(needs AIMOS_API_KEY or AIMOS_ADMIN_TOKEN).", "See 'aimos bench freshness --help'."})
    static final class Freshness extends Tool {
      @Override
      void main(String[] args) throws Exception {
        aimos.chaos.bench.FreshnessBench.main(args);
      }
    }

    @Command(name = "history",
        description = {"A tenant's cost by the length of its history: writes 10k/100k/1M usage events per tenant, "
            + "then times its recovery and its usage reads.", "Runs as a node process: start it with "
            + "'bin/aimos bench history [--sizes 10000,100000,1000000] [--snapshot-every N]'."})
    static final class History extends NodeProcess {
    }
  }

  @Command(name = "cluster", description = "A local cluster of node processes on loopback, for trying things and "
      + "for the node drills.", subcommands = {Cluster.Up.class, Cluster.Status.class, Cluster.Down.class})
  static final class Cluster {
    @Command(name = "up", description = {"Start one Cassandra and N node processes (node i: gateway 808i, management "
        + "856i, remoting 2552i), split brain resolver on; returns when all are ready.",
        "Its files (logs, pids, Cassandra's data) are in $AIMOS_CLUSTER_DIR (default .aimos/cluster)."})
    static final class Up implements Callable<Integer> {
      @Option(names = "--nodes", paramLabel = "N", description = "nodes, 1 to 5 (default 3)")
      String nodes;

      @Option(names = "--netns", description = "each node in its own network namespace (10.213.0.1i), so that "
          + "network-partition drills can cut links between nodes; needs root")
      boolean netns;

      @Option(names = "--plaintext", description = "no TLS (also AIMOS_DEV_PLAINTEXT=1); without it every port "
          + "speaks TLS with a certificate from the local CA in $AIMOS_TLS_DIR (default .aimos/tls)")
      boolean plaintext;

      @Override
      public Integer call() {
        List<String> a = new ArrayList<>(List.of("up"));
        a.addAll(List.of(new Args().add("nodes", nodes).flag("netns", netns).flag("plaintext", plaintext).array()));
        aimos.chaos.cluster.ClusterCommand.main(a.toArray(String[]::new));
        return 0;
      }
    }

    @Command(name = "status", description = {"The local cluster in $AIMOS_CLUSTER_DIR (default .aimos/cluster): each "
        + "node's pid, ports and readiness, its Cassandra, and the members as the first live node sees them."})
    static final class Status implements Callable<Integer> {
      @picocli.CommandLine.Spec
      picocli.CommandLine.Model.CommandSpec spec;

      @picocli.CommandLine.Mixin
      OutputOption output;

      @Override
      public Integer call() {
        String dir = ((AimosCli) spec.root().userObject()).env().getOrDefault("AIMOS_CLUSTER_DIR", "").strip();
        aimos.chaos.cluster.ClusterStatus status;
        try {
          status = aimos.chaos.cluster.ClusterStatus.of(Path.of(dir.isEmpty() ? ".aimos/cluster" : dir)
              .toAbsolutePath());
        } catch (IllegalStateException | java.io.UncheckedIOException e) {
          throw new CliFailure(e.getMessage());
        }
        var out = spec.commandLine().getOut();
        if (output.format == Format.table) {
          // one row a node, then Cassandra, the transport and the members as 'cluster up' prints them
          var rows = Management.JSON.createArrayNode();
          status.nodes().forEach(n -> rows.addObject().put("node", n.node()).put("pid", n.pid())
              .put("state", aimos.chaos.cluster.ClusterStatus.state(n)).put("gateway", n.gateway())
              .put("management", n.management()).put("log", n.log()));
          out.print(Render.render(rows, Format.table));
          status.summary().forEach(out::println);
        } else {
          out.print(Render.render(Management.JSON.valueToTree(status), output.format));
        }
        out.flush();
        return 0;
      }
    }

    @Command(name = "down", description = "Stop the local cluster's nodes, then its Cassandra.")
    static final class Down implements Callable<Integer> {
      @Override
      public Integer call() {
        aimos.chaos.cluster.ClusterCommand.main(new String[] {"down"});
        return 0;
      }
    }
  }

  @Command(name = "chaos", description = "Drills run from this machine against a running cluster: load, a fault, "
      + "invariants, Pass/Fail and a JSON report.", subcommands = {Chaos.ListDrills.class, Chaos.RunDrill.class})
  static final class Chaos {
    @Command(name = "list", description = "The drills.")
    static final class ListDrills implements Callable<Integer> {
      @picocli.CommandLine.Spec
      picocli.CommandLine.Model.CommandSpec spec;

      @picocli.CommandLine.Mixin
      OutputOption output;

      @Override
      public Integer call() {
        var drills = Management.JSON.createArrayNode();
        aimos.chaos.drill.Drill.ALL.forEach(d -> drills.addObject().put("name", d.name())
            .put("description", d.description()));
        var out = spec.commandLine().getOut();
        out.print(Render.render(drills, output.format));
        out.flush();
        return 0;
      }
    }

    @Command(name = "run", description = {"Run a drill, or all of them, against a running cluster (needs "
        + "AIMOS_ADMIN_TOKEN and AIMOS_SECOPS_TOKEN; sandbox-escape the secops token only).",
        "Node drills (node-kill, node-restart, network-partition, node-pause) act on the local cluster in "
            + "$AIMOS_CLUSTER_DIR, "
            + "started with 'aimos cluster up' (--netns for partitions). Exit status 1 when a drill fails."})
    static final class RunDrill implements Callable<Integer> {
      @Parameters(paramLabel = "DRILL", description = "a drill's name ('aimos chaos list'), or all")
      String drill;

      @Option(names = "--target", paramLabel = "HOST:PORT",
          description = "a gateway of the cluster (default: node 1 of the local cluster, else 127.0.0.1:8080)")
      String target;

      @Option(names = "--management", paramLabel = "HOST:PORT",
          description = "its management HTTP (default: node 1's, else 127.0.0.1:8558)")
      String management;

      @Option(names = "--admin-token-file", paramLabel = "FILE",
          description = "file holding the admin token (default $AIMOS_ADMIN_TOKEN)")
      String adminTokenFile;

      @Option(names = "--secops-token-file", paramLabel = "FILE",
          description = "file holding the secops token (default $AIMOS_SECOPS_TOKEN)")
      String secopsTokenFile;

      @Option(names = "--duration", paramLabel = "D", description = "load duration, e.g. 30s (default 30s)")
      String duration;

      @Option(names = "--rate", paramLabel = "N", description = "requests per second (default 50)")
      String rate;

      @Option(names = "--seed", paramLabel = "N", description = "seed of the traffic mix (default 1)")
      String seed;

      @Option(names = "--report-dir", paramLabel = "DIR", description = "where JSON reports go (default .aimos/drills)")
      String reportDir;

      @Option(names = "--cassandra-pid", paramLabel = "PID", description = "the Cassandra process cassandra-outage "
          + "may pause (default: the local cluster's)")
      String cassandraPid;

      @Option(names = "--pause", paramLabel = "D", description = "how long node-pause freezes the node, e.g. 8s "
          + "(default 4s)")
      String pause;

      @Override
      public Integer call() throws Exception {
        List<String> a = new ArrayList<>(List.of("run", drill));
        a.addAll(List.of(new Args().add("target", target).add("management", management)
            .add("admin-token-file", adminTokenFile).add("secops-token-file", secopsTokenFile)
            .add("duration", duration).add("rate", rate).add("seed", seed).add("report-dir", reportDir)
            .add("cassandra-pid", cassandraPid).add("pause", pause).array()));
        aimos.chaos.drill.ChaosCommand.main(a.toArray(String[]::new));
        return 0;
      }
    }
  }

  /** A command that bin/aimos runs as a node process of its own; here it only has help. */
  abstract static class NodeProcess implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      throw new CliFailure("'" + spec.qualifiedName() + "' runs as a node process: start it with 'bin/aimos "
          + spec.qualifiedName().substring(spec.root().name().length() + 1) + "'");
    }
  }

  @Command(name = "dev",
      description = {"Start embedded Cassandra, one node, a demo tenant and model (Ctrl-C stops all).",
          "TLS on every port from a local CA made on first start in .aimos/tls, unless --plaintext (or "
              + "AIMOS_DEV_PLAINTEXT=1). Run with 'bin/aimos dev'."})
  static final class Dev extends NodeProcess {
    @Option(names = "--plaintext", description = "no TLS")
    boolean plaintext;
  }

  @Command(name = "node",
      description = {"Start one node against a running Cassandra (configure with AIMOS_* variables; see the README).",
          "Run with 'bin/aimos node'."})
  static final class Node extends NodeProcess {
  }
}
