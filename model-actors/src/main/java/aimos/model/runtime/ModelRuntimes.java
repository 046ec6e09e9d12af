package aimos.model.runtime;

import java.util.List;

/** The runtimes a sandbox can load, by name. */
public final class ModelRuntimes {
  public static final List<String> NAMES = List.of(EchoTextRuntime.NAME, TrigramLmRuntime.NAME);

  private ModelRuntimes() {}

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
    throw new IllegalArgumentException("unknown runtime '" + name + "'; known runtimes: " + String.join(", ", NAMES));
  }
}
