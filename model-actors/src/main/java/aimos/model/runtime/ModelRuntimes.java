package aimos.model.runtime;

import java.util.List;

/** The runtimes a sandbox can load, by name. */
public final class ModelRuntimes {
  public static final List<String> NAMES = List.of(EchoTextRuntime.NAME, TrigramLmRuntime.NAME,
      MiniLmEmbeddingRuntime.NAME, PaddleOcrRuntime.ORIENTATION, PaddleOcrRuntime.TEXT);

  private ModelRuntimes() {}

  /** A blank 64x16 PNG, for probes of vision sandboxes. */
  private static final byte[] PROBE_IMAGE = probeImage();

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
    if (PaddleOcrRuntime.ORIENTATION.equals(name) || PaddleOcrRuntime.TEXT.equals(name)) {
      return req.setImage(aimos.internal.sandbox.ImageJob.newBuilder()
          .setData(com.google.protobuf.ByteString.copyFrom(PROBE_IMAGE)));
    }
    return req.setText(aimos.internal.sandbox.TextJob.newBuilder().setPrompt("probe").setMaxTokens(1));
  }

  /** What requests to the runtime are metered in. */
  public static aimos.api.v1.BillingUnit billingUnit(String name) {
    if (PaddleOcrRuntime.ORIENTATION.equals(name) || PaddleOcrRuntime.TEXT.equals(name)) {
      return aimos.api.v1.BillingUnit.IMAGES;
    }
    return aimos.api.v1.BillingUnit.TOKENS;
  }

  public static boolean exists(String name) {
    return NAMES.contains(name);
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
    throw new IllegalArgumentException("unknown runtime '" + name + "'; known runtimes: " + String.join(", ", NAMES));
  }
}
