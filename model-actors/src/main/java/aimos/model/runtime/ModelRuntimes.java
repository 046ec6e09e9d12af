package aimos.model.runtime;

import java.util.List;

/** The runtimes a sandbox can load, by name. */
public final class ModelRuntimes {
  public static final List<String> NAMES = List.of(EchoTextRuntime.NAME, TrigramLmRuntime.NAME,
      MiniLmEmbeddingRuntime.NAME);

  private ModelRuntimes() {}

  /** A small real request for the runtime, which a healthy sandbox answers (probes of quarantined sandboxes). */
  public static aimos.internal.sandbox.SandboxRequest.Builder probe(String name) {
    var req = aimos.internal.sandbox.SandboxRequest.newBuilder();
    if (MiniLmEmbeddingRuntime.NAME.equals(name)) {
      return req.setEmbed(aimos.internal.sandbox.EmbedJob.newBuilder().addInputs("probe"));
    }
    return req.setText(aimos.internal.sandbox.TextJob.newBuilder().setPrompt("probe").setMaxTokens(1));
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
    throw new IllegalArgumentException("unknown runtime '" + name + "'; known runtimes: " + String.join(", ", NAMES));
  }
}
