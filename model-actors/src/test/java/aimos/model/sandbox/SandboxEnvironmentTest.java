package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** A sandbox starts with an allow-listed environment: none of the node's secrets, only its runtime's own settings. */
class SandboxEnvironmentTest {
  private static final String SECRET = "node-secret-that-no-sandbox-may-see";

  @Test
  void onlyTheAllowListHomeAndTheRuntimesOwnSettingsPass() {
    Map<String, String> node = Map.of("PATH", "/usr/bin:/bin", "LANG", "C.UTF-8", "AIMOS_SECOPS_TOKEN", SECRET,
        "AIMOS_ADMIN_TOKEN", "adm_secret", "OPENAI_API_KEY", "sk-other-provider", "JAVA_TOOL_OPTIONS", "-javaagent:x",
        "AIMOS_CASSANDRA_PASSWORD", "cassandra-secret");
    Map<String, String> env = SandboxEnvironment.of(node, Path.of("/work/sandbox-1"),
        Map.of("AIMOS_UPSTREAM_API_KEY", "sk-own-provider"));
    assertEquals(new TreeMap<>(Map.of("PATH", "/usr/bin:/bin", "LANG", "C.UTF-8", "HOME", "/work/sandbox-1",
        "AIMOS_UPSTREAM_API_KEY", "sk-own-provider")), env);
  }

  @Test
  void anUpstreamSandboxGetsItsOwnProvidersSettingsAndNoOthers() throws Exception {
    var a = new aimos.model.runtime.OpenAiUpstreamRuntime.Provider("alpha", "https://alpha.example/v1", "sk-alpha",
        Duration.ofSeconds(7), 1);
    var b = new aimos.model.runtime.OpenAiUpstreamRuntime.Provider("beta", "https://beta.example/v1", "sk-beta",
        Duration.ofSeconds(9), 2);
    SandboxSettings node = SandboxSettings.forCurrentJvm(Files.createTempDirectory("sandbox-env"))
        .withUpstreams(Map.of("alpha", a, "beta", b));
    Map<String, String> alpha = node.forRuntime("openai:alpha/gpt-x").environment();
    assertEquals(a.environment(), alpha);
    assertEquals("sk-alpha", alpha.get("AIMOS_UPSTREAM_API_KEY"));
    assertFalse(alpha.values().stream().anyMatch(v -> v.contains("sk-beta") || v.contains("beta.example")), alpha
        .toString());
    assertEquals("sk-beta", node.forRuntime("openai:beta/gpt-y").environment().get("AIMOS_UPSTREAM_API_KEY"));
    // a local runtime gets no provider's settings at all
    assertEquals(Map.of(), node.forRuntime("echo-text").environment());
  }

  @Test
  void aRealSandboxProcessDoesNotSeeTheNodesEnvironment() throws Exception {
    // the build sets a secret in this JVM's environment, as a node has its tokens there
    assertEquals(SECRET, System.getenv("AIMOS_SECOPS_TOKEN"), "the test needs the secret in its environment");
    SandboxSettings settings = SandboxSettings.forCurrentJvm(Files.createTempDirectory("sandbox-env"));
    Path dir = settings.workDir().resolve("env-model").resolve("v1");
    SandboxProcess p = SandboxProcess.start(settings.launchSpec(dir), List.of(), "echo-text", 1,
        settings.maxReplyBytes());
    try {
      p.ping(Duration.ofSeconds(60)).get();
      Map<String, String> seen = environmentOf(p.pid());
      assertFalse(seen.containsKey("AIMOS_SECOPS_TOKEN"), seen.keySet().toString());
      assertFalse(seen.values().stream().anyMatch(v -> v.contains(SECRET)));
      assertTrue(Set.of("PATH", "LANG", "LC_ALL", "TZ", "HOME").containsAll(seen.keySet()), seen.keySet().toString());
      assertEquals(dir.toString(), seen.get("HOME"));
    } finally {
      p.kill("test over");
    }
  }

  /** The environment a process started with, as the kernel shows it. */
  private static Map<String, String> environmentOf(long pid) throws Exception {
    Map<String, String> env = new HashMap<>();
    String raw = new String(Files.readAllBytes(Path.of("/proc/" + pid + "/environ")), StandardCharsets.UTF_8);
    for (String entry : raw.split("\0")) {
      int eq = entry.indexOf('=');
      if (eq > 0) {
        env.put(entry.substring(0, eq), entry.substring(eq + 1));
      }
    }
    return env;
  }
}
