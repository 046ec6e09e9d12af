package aimos.model.sandbox;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The environment a sandbox process starts with: an allow-list, never the node's own. The node's environment holds
 * its secrets (admin and secops tokens, every provider's key, Cassandra credentials); a model is other people's
 * code and must not see them. A sandbox gets the few variables a JVM and its native libraries need, its working
 * directory as home, and what its runtime needs (an upstream runtime: its own provider's settings only).
 */
public final class SandboxEnvironment {
  /** Taken from the node's environment when set: where programs are, and the locale and time zone. */
  static final Set<String> INHERITED = Set.of("PATH", "LANG", "LC_ALL", "TZ");

  private SandboxEnvironment() {}

  /**
   * @param node the node's environment
   * @param workDir the sandbox's working directory, its home
   * @param own what the sandbox's runtime needs (provider settings), added as they are
   */
  public static Map<String, String> of(Map<String, String> node, Path workDir, Map<String, String> own) {
    Map<String, String> env = new TreeMap<>();
    for (String name : INHERITED) {
      String value = node.get(name);
      if (value != null) {
        env.put(name, value);
      }
    }
    env.put("HOME", workDir.toString());
    env.putAll(own);
    return env;
  }
}
