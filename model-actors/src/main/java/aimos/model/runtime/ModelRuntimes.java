package aimos.model.runtime;

import aimos.api.v1.BillingUnit;
import aimos.internal.sandbox.AudioJob;
import aimos.internal.sandbox.EmbedJob;
import aimos.internal.sandbox.ImageJob;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/** The runtimes a sandbox can load, by name, and what each needs and is metered in. */
public final class ModelRuntimes {
  public static final List<String> NAMES = List.of(EchoTextRuntime.NAME, TrigramLmRuntime.NAME,
      MiniLmEmbeddingRuntime.NAME, PaddleOcrRuntime.ORIENTATION, PaddleOcrRuntime.TEXT, SphinxSpeechRuntime.NAME);

  /** What a runtime takes. */
  public enum Input { TEXT, EMBEDDING, IMAGE, AUDIO }

  /**
   * One kind of runtime: which names it answers to, how to make it, what it takes and is metered in, the memory and
   * time a sandbox of it needs at least, and whether its Java code needs the JIT's optimizing compiler (sandboxes
   * otherwise stop at C1, which starts faster and costs less CPU for thin runtimes).
   */
  private record Kind(Predicate<String> matches, Function<String, ModelRuntime> factory, Input input, BillingUnit unit,
                      int minMemoryMb, Duration minRequestTime, boolean computeHeavy) {}

  private static Predicate<String> named(String... names) {
    return n -> List.of(names).contains(n);
  }

  private static final List<Kind> KINDS = List.of(
      new Kind(named(EchoTextRuntime.NAME), n -> new EchoTextRuntime(), Input.TEXT, BillingUnit.TOKENS, 0,
          Duration.ZERO, false),
      // 512 MB: the model's 80 MB of tables leave the collector room for the garbage of decoding
      new Kind(named(TrigramLmRuntime.NAME), n -> new TrigramLmRuntime(), Input.TEXT, BillingUnit.TOKENS, 512,
          Duration.ZERO, true),
      new Kind(named(MiniLmEmbeddingRuntime.NAME), n -> new MiniLmEmbeddingRuntime(), Input.EMBEDDING,
          BillingUnit.TOKENS, 0, Duration.ZERO, false),
      new Kind(named(PaddleOcrRuntime.ORIENTATION, PaddleOcrRuntime.TEXT), PaddleOcrRuntime::new, Input.IMAGE,
          BillingUnit.IMAGES, 0, Duration.ZERO, true),
      // full-vocabulary decoding needs ~600 MB of heap and is slower than real time on one core
      new Kind(named(SphinxSpeechRuntime.NAME), n -> new SphinxSpeechRuntime(), Input.AUDIO,
          BillingUnit.AUDIO_MINUTES, 1280, Duration.ofMinutes(2), true),
      new Kind(n -> OpenAiUpstreamRuntime.providerOf(n) != null, OpenAiUpstreamRuntime::new, Input.TEXT,
          BillingUnit.TOKENS, 0, OpenAiUpstreamRuntime.MAX_REQUEST_TIME, false),
      new Kind(n -> OnnxImageRuntime.fileOf(n) != null, OnnxImageRuntime::new, Input.IMAGE, BillingUnit.IMAGES, 0,
          Duration.ZERO, true));

  private ModelRuntimes() {}

  private static Optional<Kind> kind(String name) {
    return name == null ? Optional.empty() : KINDS.stream().filter(k -> k.matches().test(name)).findFirst();
  }

  private static Kind known(String name) {
    return kind(name).orElseThrow(() -> new IllegalArgumentException("unknown runtime '" + name + "'; known runtimes: "
        + String.join(", ", NAMES) + ", openai:<provider>/<model>, onnx-image:/path/model.onnx"));
  }

  public static boolean exists(String name) {
    return kind(name).isPresent();
  }

  public static ModelRuntime create(String name) {
    return known(name).factory().apply(name);
  }

  public static Input input(String name) {
    return known(name).input();
  }

  /** What requests to the runtime are metered in. */
  public static BillingUnit billingUnit(String name) {
    return kind(name).map(Kind::unit).orElse(BillingUnit.TOKENS);
  }

  /** Memory a sandbox of the runtime needs at least, whatever the node's default. */
  public static int minMemoryMb(String name) {
    return kind(name).map(Kind::minMemoryMb).orElse(0);
  }

  /** How long one request may take: {@code base}, or more if the runtime needs it. */
  public static Duration requestTimeout(String name, Duration base) {
    Duration least = kind(name).map(Kind::minRequestTime).orElse(Duration.ZERO);
    return base.compareTo(least) >= 0 ? base : least;
  }

  /** How long the slowest runtime's requests may take, given {@code base}. */
  public static Duration longestRequestTimeout(Duration base) {
    return KINDS.stream().map(Kind::minRequestTime).reduce(base, (a, b) -> a.compareTo(b) >= 0 ? a : b);
  }

  public static boolean computeHeavy(String name) {
    return kind(name).map(Kind::computeHeavy).orElse(false);
  }

  /** A small real request for the runtime, which a healthy sandbox answers (probes of quarantined sandboxes). */
  public static SandboxRequest.Builder probe(String name) {
    SandboxRequest.Builder req = SandboxRequest.newBuilder();
    return switch (input(name)) {
      case EMBEDDING -> req.setEmbed(EmbedJob.newBuilder().addInputs("probe"));
      case AUDIO -> req.setAudio(AudioJob.newBuilder().setData(ByteString.copyFrom(PROBE_AUDIO))
          .setGrammar("#JSGF V1.0;\ngrammar probe;\npublic <probe> = probe;\n"));
      case IMAGE -> req.setImage(ImageJob.newBuilder().setData(ByteString.copyFrom(PROBE_IMAGE)));
      case TEXT -> req.setText(TextJob.newBuilder().setPrompt("probe").setMaxTokens(1));
    };
  }

  /** A blank 64x16 PNG, for probes of vision sandboxes. */
  private static final byte[] PROBE_IMAGE = probeImage();

  /** Half a second of silence as a 16 kHz mono WAV, for probes of speech sandboxes. */
  private static final byte[] PROBE_AUDIO = probeAudio();

  private static byte[] probeAudio() {
    try {
      var format = new javax.sound.sampled.AudioFormat(16_000f, 16, 1, true, false);
      var silence = new javax.sound.sampled.AudioInputStream(new java.io.ByteArrayInputStream(new byte[16_000]), format,
          8_000);
      var out = new java.io.ByteArrayOutputStream();
      javax.sound.sampled.AudioSystem.write(silence, javax.sound.sampled.AudioFileFormat.Type.WAVE, out);
      return out.toByteArray();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static byte[] probeImage() {
    try {
      var out = new java.io.ByteArrayOutputStream();
      javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(64, 16, java.awt.image.BufferedImage.TYPE_INT_RGB),
          "png", out);
      return out.toByteArray();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
