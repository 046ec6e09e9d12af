package aimos.chaos.load;

import aimos.api.v1.EchoMessage;
import aimos.api.v1.EchoServiceClient;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.http.javadsl.ServerBinding;

/**
 * {@code bin/aimos load}: drives Infer against a node, then the same load against a bare gRPC echo service in this
 * process, and prints both with the ratio of their throughputs.
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
      """;

  public static void main(String[] args) {
    Map<String, String> opts = parse(args);
    String apiKey = aimos.chaos.cli.Secrets.of(opts, "api-key", "AIMOS_API_KEY");
    String adminToken = aimos.chaos.cli.Secrets.of(opts, "admin-token", "AIMOS_ADMIN_TOKEN");
    if (opts.containsKey("help") || apiKey.isEmpty() && adminToken.isEmpty()) {
      System.out.print(HELP);
      System.exit(opts.containsKey("help") ? 0 : 2);
    }
    if (apiKey.isEmpty()) {
      apiKey = LoadTenant.create(opts.getOrDefault("management", "127.0.0.1:8558"), adminToken);
    }
    opts.put("api-key", apiKey);
    String[] target = opts.getOrDefault("target", "127.0.0.1:8080").split(":");
    int concurrency = Integer.parseInt(opts.getOrDefault("concurrency", "64"));
    Duration duration = duration(opts.getOrDefault("duration", "20s"));
    Duration warmup = duration(opts.getOrDefault("warmup", "5s"));
    String model = opts.getOrDefault("model", "demo-text");
    long seed = Long.parseLong(opts.getOrDefault("seed", "1"));

    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "aimos-load", ConfigFactory.load());
    try {
      var infer = InferenceServiceClient.create(GrpcClientSettings.connectToServiceAt(target[0],
          Integer.parseInt(target[1]), system).withTls(false), system);
      String[] prompts = prompts(seed);
      String runId = Long.toString(System.currentTimeMillis(), 36);
      System.out.printf("Metered Infer on %s:%s, model %s, %d in flight, %s (warm-up %s)%n", target[0], target[1],
          model, concurrency, duration, warmup);
      LoadResult metered = LoadRun.run("aimos Infer (metered)", concurrency, warmup, duration, i ->
          infer.infer().addHeader("authorization", "Bearer " + opts.get("api-key"))
              .invoke(InferRequest.newBuilder().setModel(model).setRequestId("load-" + runId + "-" + i)
                  .setText(TextInput.newBuilder().setPrompt(prompts[i % prompts.length])).build()),
          n -> System.out.printf("  ... %d ok%n", n));
      System.out.println(metered.line());
      if (!metered.failures().isEmpty()) {
        System.out.println("  failures: " + metered.failures());
      }
      if (!opts.containsKey("skip-echo")) {
        ServerBinding binding = EchoServer.bind(system, "127.0.0.1", 0).toCompletableFuture().join();
        var echo = EchoServiceClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1",
            binding.localAddress().getPort(), system).withTls(false), system);
        System.out.printf("Bare gRPC echo (same process as this client), %d in flight, %s%n", concurrency, duration);
        LoadResult bare = LoadRun.run("bare gRPC echo", concurrency, warmup, duration, i ->
            echo.echo(EchoMessage.newBuilder().setPayload(prompts[i % prompts.length]).build()),
            n -> System.out.printf("  ... %d ok%n", n));
        System.out.println(bare.line());
        System.out.println();
        System.out.println(metered.line());
        System.out.println(bare.line());
        System.out.printf("metered/echo throughput ratio: %.3f%n", metered.throughput() / bare.throughput());
      }
    } finally {
      system.terminate();
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

  static Map<String, String> parse(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + a + "'; options start with --");
      }
      String key = a.substring(2);
      if (key.equals("skip-echo") || key.equals("help")) {
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
