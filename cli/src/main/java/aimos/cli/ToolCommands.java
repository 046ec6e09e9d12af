package aimos.cli;

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

  @Command(name = "load",
      description = {"Drive Infer at a concurrency for a duration, then the same load against a bare gRPC echo "
          + "service; prints throughput and p50/p95/p99 of both.",
          "Options: --target, --management, --model, --concurrency, --duration, --warmup, --seed, --skip-echo, "
              + "--tenants, --sweep, --api-key-file, --admin-token-file (see 'aimos load --help')."})
  static final class Load extends Tool {
    @Override
    void main(String[] args) {
      aimos.chaos.load.LoadCommand.main(args);
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

  @Command(name = "cluster",
      description = {"A local cluster: 'cluster up [--nodes N] [--netns] [--plaintext]' starts one Cassandra and N "
          + "node processes on loopback and returns when all are ready; 'cluster status'; 'cluster down'.",
          "See 'aimos cluster help'."})
  static final class Cluster extends Tool {
    @Override
    void main(String[] args) {
      aimos.chaos.cluster.ClusterCommand.main(args);
    }
  }

  @Command(name = "chaos",
      description = {"Drills against a running cluster from this machine: 'chaos list'; 'chaos run DRILL|all "
          + "[--duration 30s --rate 50 --seed 1 ...]' (load, fault, invariants, Pass/Fail, JSON report; needs "
          + "AIMOS_ADMIN_TOKEN and AIMOS_SECOPS_TOKEN).", "See 'aimos chaos --help'."})
  static final class Chaos extends Tool {
    @Override
    void main(String[] args) throws Exception {
      aimos.chaos.drill.ChaosCommand.main(args);
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
