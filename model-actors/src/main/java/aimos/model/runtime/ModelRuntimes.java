package aimos.model.runtime;

import java.util.List;

/** The runtimes a sandbox can load, by name. */
public final class ModelRuntimes {
  public static final List<String> NAMES = List.of(EchoTextRuntime.NAME, TrigramLmRuntime.NAME,
      MiniLmEmbeddingRuntime.NAME, PaddleOcrRuntime.ORIENTATION, PaddleOcrRuntime.TEXT, SphinxSpeechRuntime.NAME);

  private ModelRuntimes() {}

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

  /** A small real request for the runtime, which a healthy sandbox answers (probes of quarantined sandboxes). */
  public static aimos.internal.sandbox.SandboxRequest.Builder probe(String name) {
    var req = aimos.internal.sandbox.SandboxRequest.newBuilder();
    if (MiniLmEmbeddingRuntime.NAME.equals(name)) {
      return req.setEmbed(aimos.internal.sandbox.EmbedJob.newBuilder().addInputs("probe"));
    }
    if (SphinxSpeechRuntime.NAME.equals(name)) {
      return req.setAudio(aimos.internal.sandbox.AudioJob.newBuilder()
          .setData(com.google.protobuf.ByteString.copyFrom(PROBE_AUDIO))
          .setGrammar("#JSGF V1.0;\ngrammar probe;\npublic <probe> = probe;\n"));
    }
    if (billingUnit(name) == aimos.api.v1.BillingUnit.IMAGES) {
      return req.setImage(aimos.internal.sandbox.ImageJob.newBuilder()
          .setData(com.google.protobuf.ByteString.copyFrom(PROBE_IMAGE)));
    }
    return req.setText(aimos.internal.sandbox.TextJob.newBuilder().setPrompt("probe").setMaxTokens(1));
  }

  /** What requests to the runtime are metered in. */
  public static aimos.api.v1.BillingUnit billingUnit(String name) {
    if (PaddleOcrRuntime.ORIENTATION.equals(name) || PaddleOcrRuntime.TEXT.equals(name)
        || OnnxImageRuntime.fileOf(name) != null) {
      return aimos.api.v1.BillingUnit.IMAGES;
    }
    if (SphinxSpeechRuntime.NAME.equals(name)) {
      return aimos.api.v1.BillingUnit.AUDIO_MINUTES;
    }
    return aimos.api.v1.BillingUnit.TOKENS;
  }

  /**
   * Memory a sandbox of the runtime needs at least, whatever the node's default: full-vocabulary speech 1.25 GB; the
   * trigram model 512 MB, so that its 80 MB of tables leave the collector room for the garbage of decoding.
   */
  public static int minMemoryMb(String name) {
    if (SphinxSpeechRuntime.NAME.equals(name)) {
      return 1280;
    }
    return TrigramLmRuntime.NAME.equals(name) ? 512 : 0;
  }

  /** How long one request may take at least (full-vocabulary speech decodes slower than real time on one core). */
  public static java.time.Duration requestTimeout(String name, java.time.Duration base) {
    java.time.Duration least = SphinxSpeechRuntime.NAME.equals(name) ? java.time.Duration.ofMinutes(2)
        : OpenAiUpstreamRuntime.providerOf(name) != null ? OpenAiUpstreamRuntime.MAX_REQUEST_TIME
        : java.time.Duration.ZERO;
    return base.compareTo(least) >= 0 ? base : least;
  }

  /**
   * Whether the runtime's own Java code is hot enough to need the JIT's optimizing compiler: sandboxes otherwise
   * stop at C1 (-XX:TieredStopAtLevel=1), which starts faster and costs less CPU for thin runtimes.
   */
  public static boolean computeHeavy(String name) {
    return TrigramLmRuntime.NAME.equals(name) || SphinxSpeechRuntime.NAME.equals(name)
        || PaddleOcrRuntime.TEXT.equals(name) || PaddleOcrRuntime.ORIENTATION.equals(name)
        || OnnxImageRuntime.fileOf(name) != null;
  }

  public static boolean exists(String name) {
    return NAMES.contains(name) || OpenAiUpstreamRuntime.providerOf(name) != null
        || OnnxImageRuntime.fileOf(name) != null;
  }

  public static ModelRuntime create(String name) {
    if (EchoTextRuntime.NAME.equals(name)) {
      return new EchoTextRuntime();
    }
    if (TrigramLmRuntime.NAME.equals(name)) {
      return new TrigramLmRuntime();
    }
    if (MiniLmEmbeddingRuntime.NAME.equals(name)) {
      return new MiniLmEmbeddingRuntime();
    }
    if (PaddleOcrRuntime.ORIENTATION.equals(name) || PaddleOcrRuntime.TEXT.equals(name)) {
      return new PaddleOcrRuntime(name);
    }
    if (SphinxSpeechRuntime.NAME.equals(name)) {
      return new SphinxSpeechRuntime();
    }
    if (OpenAiUpstreamRuntime.providerOf(name) != null) {
      return new OpenAiUpstreamRuntime(name);
    }
    if (OnnxImageRuntime.fileOf(name) != null) {
      return new OnnxImageRuntime(name);
    }
    throw new IllegalArgumentException("unknown runtime '" + name + "'; known runtimes: " + String.join(", ", NAMES)
        + ", openai:<provider>/<model>, onnx-image:/path/model.onnx");
  }
}
