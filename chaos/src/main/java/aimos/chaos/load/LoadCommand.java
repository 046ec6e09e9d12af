package aimos.chaos.load;

import aimos.api.v1.EchoMessage;
import aimos.api.v1.EchoServiceClient;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import aimos.chaos.stats.Latencies;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * {@code bin/aimos load}: drives Infer against a node (one tenant or many), then the same load against a bare gRPC
 * echo service in this process, and prints both with the ratio of their throughputs; {@code --sweep} does so at
 * several concurrencies and prints one table.
 */
public final class LoadCommand {
  private LoadCommand() {}

  static final String HELP = """
      Usage: bin/aimos load [options]
        with AIMOS_API_KEY (or --api-key-file F): the key of a tenant whose plan allows the load, or
        with AIMOS_ADMIN_TOKEN (or --admin-token-file F): create a tenant with limits far above the load and use its key
        --target HOST:PORT     gateway to load (default 127.0.0.1:8080)
        --management HOST:PORT management HTTP for the admin token (default 127.0.0.1:8558)
        --model NAME           model to call (default demo-text)
        --concurrency N        requests in flight (default 64)
        --duration D           measured time, e.g. 20s (default 20s)
        --warmup D             unmeasured warm-up before each phase (default 5s)
        --seed N               seed for the prompts (default 1)
        --skip-echo            measure only the metered path
        --tenants N            spread the load over N tenants (1-1000, default 1; N > 1 needs the admin token)
        --sweep                measure at 1, 8, 64 and 256 in flight (each against the echo) and print one table
      """;

  /** The concurrencies of {@code --sweep}. */
  static final int[] SWEEP = {1, 8, 64, 256};

  public static void main(String[] args) {
    Map<String, String> opts;
    Settings settings;
    try {
      opts = parse(args);
      settings = Settings.of(opts);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage() + " (see bin/aimos load --help)");
      System.exit(2);
      return;
    }
    String apiKey = aimos.chaos.cli.Secrets.of(opts, "api-key", "AIMOS_API_KEY");
    String adminToken = aimos.chaos.cli.Secrets.of(opts, "admin-token", "AIMOS_ADMIN_TOKEN");
    if (opts.containsKey("help") || apiKey.isEmpty() && adminToken.isEmpty()) {
      System.out.print(HELP);
      System.exit(opts.containsKey("help") ? 0 : 2);
    }
    List<String> keys;
    if (settings.tenants() > 1 || apiKey.isEmpty()) {
      if (adminToken.isEmpty()) {
        System.err.println("--tenants " + settings.tenants() + " creates tenants: it needs AIMOS_ADMIN_TOKEN (or "
            + "--admin-token-file)");
        System.exit(2);
        return;
      }
      keys = LoadTenant.create(opts.getOrDefault("management", "127.0.0.1:8558"), adminToken, settings.tenants());
    } else {
      keys = List.of(apiKey);
    }
    String[] target = opts.getOrDefault("target", "127.0.0.1:8080").split(":");
    String model = opts.getOrDefault("model", "demo-text");
    long seed;
    try {
      seed = Long.parseLong(opts.getOrDefault("seed", "1"));
    } catch (NumberFormatException e) {
      System.err.println("--seed takes a whole number, was '" + opts.get("seed") + "' (see bin/aimos load --help)");
      System.exit(2);
      return;
    }

    aimos.chaos.tls.ClientTls tls = aimos.chaos.tls.ClientTls.fromEnvironment();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "aimos-load", ConfigFactory.load());
    try {
      var infer = InferenceServiceClient.create(tls.grpc(GrpcClientSettings.connectToServiceAt(target[0],
          Integer.parseInt(target[1]), system)), system);
      String[] prompts = prompts(seed);
      String runId = Long.toString(System.currentTimeMillis(), 36);
      // the platform's own time in each answer, from its aimos-overhead-ms trailer, for the measured phase only
      AtomicReference<Latencies> overhead = new AtomicReference<>(new Latencies());
      LoadRun.Call metered = i -> infer.infer().addHeader("authorization", "Bearer " + keys.get(i % keys.size()))
          .invokeWithMetadata(InferRequest.newBuilder().setModel(model).setRequestId("load-" + runId + "-" + i)
              .setText(TextInput.newBuilder().setPrompt(prompts[i % prompts.length])).build())
          .thenCompose(r -> r.getTrailers())
          .thenAccept(trailers -> overheadMillis(trailers).ifPresent(ms -> overhead.get().record((long) (ms * 1e6))));
      LoadRun.Call bare = null;
      if (!settings.skipEcho()) {
        ServerBinding binding = EchoServer.bind(system, "127.0.0.1", 0).toCompletableFuture().join();
        var echo = EchoServiceClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1",
            binding.localAddress().getPort(), system).withTls(false), system);
        bare = i -> echo.echo(EchoMessage.newBuilder().setPayload(prompts[i % prompts.length]).build());
      }
      List<String> rows = new ArrayList<>();
      for (int concurrency : settings.concurrencies()) {
        System.out.printf("Metered Infer on %s:%s (%s), model %s, %d tenant(s), %d in flight, %s (warm-up %s)%n",
            target[0], target[1], tls.enabled() ? "TLS" : "plaintext", model, keys.size(), concurrency,
            settings.duration(), settings.warmup());
        LoadResult m = LoadRun.run("aimos Infer (metered)", concurrency, settings.warmup(), settings.duration(),
            metered, n -> System.out.printf("  ... %d ok%n", n), () -> overhead.set(new Latencies()));
        System.out.println(m.line());
        System.out.println(overheadLine(overhead.get()));
        if (!m.failures().isEmpty()) {
          System.out.println("  failures: " + m.failures());
        }
        if (bare == null) {
          rows.add(SweepRow.of(concurrency, m, null, overhead.get()));
          continue;
        }
        System.out.printf("Bare gRPC echo (same process as this client), %d in flight, %s%n", concurrency,
            settings.duration());
        LoadResult b = LoadRun.run("bare gRPC echo", concurrency, settings.warmup(), settings.duration(), bare,
            n -> System.out.printf("  ... %d ok%n", n));
        System.out.println(b.line());
        if (settings.concurrencies().length == 1) {
          System.out.println();
          System.out.println(m.line());
          System.out.println(overheadLine(overhead.get()));
          System.out.println(b.line());
          System.out.printf("metered/echo throughput ratio: %.3f%n", m.throughput() / b.throughput());
        }
        rows.add(SweepRow.of(concurrency, m, b, overhead.get()));
      }
      if (settings.concurrencies().length > 1) {
        System.out.println();
        System.out.println(SweepRow.HEADER);
        rows.forEach(System.out::println);
      }
    } finally {
      system.terminate();
    }
  }

  /** What the options ask for, checked before anything runs. */
  record Settings(int[] concurrencies, int tenants, Duration duration, Duration warmup, boolean skipEcho) {
    static Settings of(Map<String, String> opts) {
      int tenants = bounded(opts, "tenants", 1, 1, 1000);
      int concurrency = bounded(opts, "concurrency", 64, 1, 10_000);
      if (opts.containsKey("sweep") && opts.containsKey("concurrency")) {
        throw new IllegalArgumentException("--sweep measures at 1, 8, 64 and 256 in flight: leave out --concurrency");
      }
      return new Settings(opts.containsKey("sweep") ? SWEEP : new int[] {concurrency}, tenants,
          LoadCommand.duration(opts.getOrDefault("duration", "20s")),
          LoadCommand.duration(opts.getOrDefault("warmup", "5s")), opts.containsKey("skip-echo"));
    }

    private static int bounded(Map<String, String> opts, String name, int dflt, int min, int max) {
      String v = opts.get(name);
      if (v == null) {
        return dflt;
      }
      try {
        int n = Integer.parseInt(v.strip());
        if (n >= min && n <= max) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException("--" + name + " takes a whole number from " + min + " to " + max
          + ", was '" + v + "'");
    }
  }

  /** The aimos-overhead-ms value of an answer's trailers, when it has one. */
  static java.util.Optional<Double> overheadMillis(org.apache.pekko.grpc.javadsl.Metadata trailers) {
    return trailers.getText("aimos-overhead-ms").flatMap(v -> {
      try {
        return java.util.Optional.of(Double.parseDouble(v));
      } catch (NumberFormatException e) {
        return java.util.Optional.empty();
      }
    });
  }

  static String overheadLine(Latencies overhead) {
    return overhead.count() == 0 ? "  platform overhead (aimos-overhead-ms): not reported by this node"
        : String.format("  platform overhead (aimos-overhead-ms, %d answers): p50 %.2f ms   p95 %.2f ms   p99 %.2f ms",
            overhead.count(), overhead.percentileMillis(50), overhead.percentileMillis(95),
            overhead.percentileMillis(99));
  }

  /** One line of the sweep's table: the metered path against the echo at one concurrency. */
  static final class SweepRow {
    static final String HEADER = String.format("%9s %10s %8s %8s %8s %10s %8s %7s %9s %10s %10s", "in flight",
        "metered/s", "p50 ms", "p95 ms", "p99 ms", "echo/s", "p50 ms", "ratio", "p50 added", "overhead50",
        "overhead99");

    private SweepRow() {}

    static String of(int concurrency, LoadResult metered, LoadResult echo, Latencies overhead) {
      String echoRate = echo == null ? "-" : String.format("%.1f", echo.throughput());
      String echoP50 = echo == null ? "-" : String.format("%.2f", echo.percentileMillis(50));
      String ratio = echo == null ? "-" : String.format("%.3f", metered.throughput() / echo.throughput());
      String added = echo == null ? "-" : String.format("%.2f", metered.percentileMillis(50) - echo.percentileMillis(50));
      return String.format("%9d %10.1f %8.2f %8.2f %8.2f %10s %8s %7s %9s %10.2f %10.2f", concurrency,
          metered.throughput(), metered.percentileMillis(50), metered.percentileMillis(95),
          metered.percentileMillis(99), echoRate, echoP50, ratio, added, overhead.percentileMillis(50),
          overhead.percentileMillis(99));
    }
  }

  static String[] prompts(long seed) {
    String[] words = {"model", "tenant", "quota", "lease", "sandbox", "ledger", "cluster", "token", "vision",
        "speech", "billing", "replica", "shard", "region", "latency"};
    Random r = new Random(seed);
    String[] out = new String[64];
    for (int i = 0; i < out.length; i++) {
      StringBuilder sb = new StringBuilder();
      int n = 8 + r.nextInt(24);
      for (int w = 0; w < n; w++) {
        sb.append(w == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
      }
      out[i] = sb.toString();
    }
    return out;
  }

  public static Duration duration(String s) {
    String t = s.strip().toLowerCase();
    try {
      if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      if (t.endsWith("s")) return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
      if (t.endsWith("m")) return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
      return Duration.ofSeconds(Long.parseLong(t));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a duration: '" + s + "' (write 20s, 500ms or 2m)");
    }
  }

  /** The options {@link #HELP} lists, and the inline secrets {@code Secrets} still takes with a warning. */
  static final java.util.Set<String> OPTIONS = java.util.Set.of("target", "management", "model", "concurrency",
      "duration", "warmup", "seed", "skip-echo", "tenants", "sweep", "help", "api-key", "api-key-file", "admin-token",
      "admin-token-file");

  static Map<String, String> parse(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + a + "'; options start with --");
      }
      String key = a.substring(2);
      if (!OPTIONS.contains(key)) {
        throw new IllegalArgumentException("unknown option '" + a + "'");
      }
      if (key.equals("skip-echo") || key.equals("help") || key.equals("sweep")) {
        m.put(key, "true");
      } else if (i + 1 < args.length) {
        m.put(key, args[++i]);
      } else {
        throw new IllegalArgumentException("option --" + key + " needs a value");
      }
    }
    return m;
  }
}
