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
    int concurrency = args.length > 0 ? Integer.parseInt(args[0]) : 4;
    Duration duration = Duration.ofSeconds(args.length > 1 ? Long.parseLong(args[1]) : 15);
    int starts = args.length > 2 ? Integer.parseInt(args[2]) : 5;
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
}
