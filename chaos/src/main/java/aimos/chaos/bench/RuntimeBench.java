package aimos.chaos.bench;

import aimos.chaos.stats.Latencies;
import aimos.api.v1.AudioInput;
import aimos.api.v1.EmbeddingInput;
import aimos.api.v1.ImageInput;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import aimos.chaos.drill.AdminClient;
import aimos.internal.sandbox.AudioJob;
import aimos.internal.sandbox.EmbedJob;
import aimos.internal.sandbox.ImageJob;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import aimos.model.runtime.ModelRuntime;
import aimos.model.runtime.ModelRuntimes;
import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import javax.imageio.ImageIO;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * {@code bin/aimos bench runtimes}: each model runtime's latency called in-process (the model alone) and through a
 * running node (gRPC, admission, lease, sandbox, metering), with the same input, in the same run. Requests are sent
 * one at a time, so the difference is the platform's cost per request.
 */
public final class RuntimeBench {
  private RuntimeBench() {}

  static final String HELP = """
      Usage: bin/aimos bench runtimes [--target HOST:PORT] [--management HOST:PORT] [--requests N] [--runtimes a,b]
        against a running node (bin/aimos dev); needs AIMOS_ADMIN_TOKEN. Default: all runtimes, 50 requests each.
      """;

  /** One runtime's input, for the model alone and for the platform. */
  record Case(String runtime, String unit, SandboxRequest sandbox, InferRequest.Builder api) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new java.util.HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (args[i].equals("--help")) {
        System.out.print(HELP);
        System.exit(0);
      }
      if (!args[i].startsWith("--") || i + 1 >= args.length
          || !java.util.Set.of("requests", "runtimes", "target", "management").contains(args[i].substring(2))) {
        System.err.print("unknown option or missing value: '" + args[i] + "'\n" + HELP);
        System.exit(2);
      }
      o.put(args[i].substring(2), args[i + 1]);
    }
    if (!o.getOrDefault("requests", "50").matches("[1-9][0-9]{0,6}")) {
      System.err.println("--requests takes a whole number from 1, was '" + o.get("requests") + "'");
      System.exit(2);
    }
    String token = System.getenv().getOrDefault("AIMOS_ADMIN_TOKEN", "");
    if (token.isEmpty()) {
      System.err.println("Set AIMOS_ADMIN_TOKEN to the node's admin token (bin/aimos dev prints it).");
      System.exit(2);
    }
    int requests = Integer.parseInt(o.getOrDefault("requests", "50"));
    List<String> runtimes = o.containsKey("runtimes") ? List.of(o.get("runtimes").split(",")) : ModelRuntimes.NAMES;
    String[] target = o.getOrDefault("target", "127.0.0.1:8080").split(":");
    aimos.chaos.tls.ClientTls tls = aimos.chaos.tls.ClientTls.fromEnvironment();
    AdminClient admin = new AdminClient(o.getOrDefault("management", "127.0.0.1:8558"), token, token, tls);
    String tenant = ("bench-" + Long.toString(System.currentTimeMillis(), 36)).substring(0, 14);
    admin.admin("POST", "/admin/tenants", """
        {"id": "%s", "name": "runtime bench", "plan": {"requestsPerMinute": 1000000, "tokensPerMinute": 1000000000,
         "monthlyBudgetUsd": "100000", "maxConcurrentRequests": 100}}""".formatted(tenant));
    String key = admin.admin("POST", "/admin/tenants/" + tenant + "/keys", null).get("apiKey").asText();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench", ConfigFactory.parseString(
        "pekko.loglevel = WARNING\npekko.actor.provider = local").withFallback(ConfigFactory.load()));
    InferenceServiceClient client = InferenceServiceClient.create(tls.grpc(GrpcClientSettings.connectToServiceAt(
        target[0], Integer.parseInt(target[1]), system)), system);
    List<String> rows = new ArrayList<>();
    try {
      for (String runtime : runtimes) {
        Case c = input(runtime);
        System.out.println("== " + runtime + ": " + requests + " requests in-process, then through the node");
        ModelRuntime model = ModelRuntimes.create(runtime);
        Latencies alone = time(requests, () -> {
          SandboxReply.Builder reply = SandboxReply.newBuilder();
          model.run(c.sandbox(), reply);
          return reply;
        });
        String name = "bench-" + runtime;
        admin.adminIfAny("POST", "/admin/models", "{\"name\": \"" + name + "\", \"description\": \"runtime bench\"}");
        admin.adminIfAny("POST", "/admin/models/" + name + "/versions", "{\"version\": \"v1\", \"runtime\": \""
            + runtime + "\", \"billingUnit\": \"" + c.unit() + "\"}");
        int[] n = {0};
        Supplier<Object> call = () -> client.infer().addHeader("authorization", "Bearer " + key)
            .invoke(c.api().setModel(name).setRequestId(tenant + "-" + runtime + "-" + n[0]++).build())
            .toCompletableFuture().join();
        awaitServing(call);
        Latencies platform = time(requests, call);
        String row = String.format("| %-17s | %7.1f | %7.1f | %7.1f | %7.1f | %7.1f | %7.1f | %+7.1f | %5.2f |", runtime,
            p(alone, 50), p(alone, 95), p(alone, 99), p(platform, 50), p(platform, 95), p(platform, 99),
            p(platform, 50) - p(alone, 50), p(platform, 50) / p(alone, 50));
        System.out.println(row);
        rows.add(row);
      }
    } finally {
      system.terminate();
    }
    System.out.println();
    System.out.println("| runtime           | in-process p50 / p95 / p99 ms | through the node p50 / p95 / p99 ms | "
        + "p50 overhead ms | ratio |");
    rows.forEach(System.out::println);
    System.exit(0);
  }

  private static void awaitServing(Supplier<Object> call) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (true) {
      try {
        call.get();
        return;
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(500);
      }
    }
  }

  /** Latencies of {@code n} calls one after another, after 20 warm-up calls. */
  static Latencies time(int n, Supplier<?> call) {
    for (int i = 0; i < 20; i++) {
      call.get();
    }
    Latencies t = new Latencies();
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      call.get();
      t.record(System.nanoTime() - t0);
    }
    return t;
  }

  static double p(Latencies l, int percentile) {
    return l.percentileMillis(percentile);
  }

  static Case input(String runtime) throws Exception {
    switch (ModelRuntimes.billingUnit(runtime)) {
      case IMAGES -> {
        ByteString image = ByteString.copyFrom(textLine("Invoice 4711 total 99.50 USD"));
        return new Case(runtime, "IMAGES", SandboxRequest.newBuilder().setImage(ImageJob.newBuilder().setData(image))
            .build(), InferRequest.newBuilder().setImage(ImageInput.newBuilder().setData(image)));
      }
      case AUDIO_MINUTES -> {
        Path audio = Path.of(System.getenv().getOrDefault("AIMOS_ROOT", "."), "model-actors", "src", "test",
            "resources", "fixtures", "audio");
        ByteString wav = ByteString.copyFrom(Files.readAllBytes(audio.resolve("cards-three-cards.wav")));
        String grammar = Files.readString(audio.resolve("cards.gram"));
        return new Case(runtime, "AUDIO_MINUTES", SandboxRequest.newBuilder().setAudio(AudioJob.newBuilder()
            .setData(wav).setGrammar(grammar)).build(), InferRequest.newBuilder().setAudio(AudioInput.newBuilder()
            .setData(wav).setGrammar(grammar)));
      }
      default -> {
        if (runtime.equals(aimos.model.runtime.MiniLmEmbeddingRuntime.NAME)) {
          String text = "The cat sits on the mat";
          return new Case(runtime, "TOKENS", SandboxRequest.newBuilder().setEmbed(EmbedJob.newBuilder()
              .addInputs(text)).build(), InferRequest.newBuilder().setEmbedding(EmbeddingInput.newBuilder()
              .addInputs(text)));
        }
        String prompt = "I flew to New York";
        return new Case(runtime, "TOKENS", SandboxRequest.newBuilder().setText(TextJob.newBuilder().setPrompt(prompt)
            .setMaxTokens(32)).build(), InferRequest.newBuilder().setText(TextInput.newBuilder().setPrompt(prompt)
            .setMaxTokens(32)));
      }
    }
  }

  /** A PNG of one line of black text on white. */
  static byte[] textLine(String text) throws Exception {
    Font font = new Font("DejaVu Sans", Font.PLAIN, 28);
    BufferedImage image = new BufferedImage(460, 50, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, image.getWidth(), image.getHeight());
    g.setColor(Color.BLACK);
    g.setFont(font);
    g.drawString(text, 12, 36);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }
}
