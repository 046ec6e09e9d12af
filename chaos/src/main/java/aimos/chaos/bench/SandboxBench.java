package aimos.chaos.bench;

import aimos.chaos.stats.Latencies;
import aimos.chaos.load.LoadResult;
import aimos.chaos.load.LoadRun;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import aimos.model.runtime.EchoTextRuntime;
import aimos.model.sandbox.SandboxProcess;
import aimos.model.sandbox.SandboxSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code bin/aimos bench sandbox}: the cost of the sandbox boundary. In one run it measures the cold start of a
 * sandbox process (launch to first answered ping), then the same text runtime called in-process and through a
 * sandbox process (caps applied as on a node), at the same concurrency.
 */
public final class SandboxBench {
  private SandboxBench() {}

  public static void main(String[] args) throws Exception {
    String usage = "Usage: bin/aimos bench sandbox [CONCURRENCY (1-1024, default 4)] [SECONDS (1-3600, default 15)] "
        + "[STARTS (1-1000, default 5)]";
    if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
      System.out.println(usage);
      return;
    }
    if (args.length > 3) {
      System.err.println("too many arguments\n" + usage);
      System.exit(2);
    }
    int concurrency = positional(args, 0, 4, 1024, usage);
    Duration duration = Duration.ofSeconds(positional(args, 1, 15, 3600, usage));
    int starts = positional(args, 2, 5, 1000, usage);
    Path dir = Files.createTempDirectory("aimos-bench-sandbox");
    SandboxSettings settings = SandboxSettings.forCurrentJvm(dir);
    String sandboxId = "bench-" + ProcessHandle.current().pid();
    String[] prompts = prompts();

    System.out.println("Sandbox isolation: " + settings.isolation().describe());
    Latencies cold = new Latencies();
    for (int i = 0; i < starts; i++) {
      long t0 = System.nanoTime();
      try (SandboxProcess p = SandboxProcess.start(settings.launchSpec(dir), settings.isolation().prepare(sandboxId),
          EchoTextRuntime.NAME, concurrency, settings.maxReplyBytes())) {
        p.ping(Duration.ofSeconds(60)).join();
        long took = System.nanoTime() - t0;
        cold.record(took);
        System.out.printf("  cold start %d: %.0f ms%n", i + 1, took / 1e6);
      }
    }

    EchoTextRuntime runtime = new EchoTextRuntime();
    ExecutorService pool = Executors.newFixedThreadPool(concurrency);
    LoadResult inProcess = LoadRun.run("in-process runtime", concurrency, Duration.ofSeconds(5), duration,
        i -> CompletableFuture.supplyAsync(() -> {
          SandboxReply.Builder reply = SandboxReply.newBuilder();
          runtime.run(request(prompts[i % prompts.length]).build(), reply);
          return reply.build();
        }, pool), n -> { });
    pool.shutdown();

    LoadResult sandboxed;
    try (SandboxProcess p = SandboxProcess.start(settings.launchSpec(dir), settings.isolation().prepare(sandboxId),
        EchoTextRuntime.NAME, concurrency, settings.maxReplyBytes())) {
      p.ping(Duration.ofSeconds(60)).join();
      sandboxed = LoadRun.run("sandbox round trip", concurrency, Duration.ofSeconds(5), duration,
          i -> p.call(request(prompts[i % prompts.length]), Duration.ofSeconds(10)), n -> { });
    }
    settings.isolation().release(sandboxId);

    System.out.println();
    System.out.printf("sandbox cold start (launch to first ping answered), %d starts: p50 %.0f ms, max %.0f ms%n",
        starts, cold.percentileMillis(50), cold.maxMillis());
    System.out.println(inProcess.line());
    System.out.println(sandboxed.line());
    System.out.printf("sandbox/in-process throughput ratio: %.3f; added p50 latency %.3f ms%n",
        sandboxed.throughput() / inProcess.throughput(),
        sandboxed.percentileMillis(50) - inProcess.percentileMillis(50));
  }

  private static SandboxRequest.Builder request(String prompt) {
    return SandboxRequest.newBuilder().setText(TextJob.newBuilder().setPrompt(prompt));
  }

  private static String[] prompts() {
    String[] out = new String[32];
    for (int i = 0; i < out.length; i++) {
      out[i] = ("the sandbox boundary costs a pipe round trip and two protobuf frames per request " + i).repeat(1 + i % 3);
    }
    return out;
  }

  private static int positional(String[] args, int index, int dflt, int max, String usage) {
    if (args.length <= index) {
      return dflt;
    }
    if (!args[index].matches("[0-9]{1,7}") || Integer.parseInt(args[index]) < 1 || Integer.parseInt(args[index]) > max) {
      System.err.println("'" + args[index] + "' is not a whole number from 1 to " + max + "\n" + usage);
      System.exit(2);
    }
    return Integer.parseInt(args[index]);
  }
}
