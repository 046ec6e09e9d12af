package aimos.node.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The Prometheus rules in ops/prometheus: every alert explains itself and has a unit test, and {@code promtool check
 * rules} and {@code promtool test rules} pass. promtool comes from ops/prometheus/promtool.sh: $AIMOS_PROMTOOL, the
 * PATH, or Debian's prometheus package fetched once (no root) into ~/.cache/aimos/promtool.
 */
class AlertRulesTest {
  static final Path PROMETHEUS = Path.of("..", "ops", "prometheus").toAbsolutePath().normalize();
  static final Path RULES = PROMETHEUS.resolve("aimos-rules.yaml");
  static final Path TESTS = PROMETHEUS.resolve("aimos-rules-test.yaml");

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> rules() throws IOException {
    Map<String, Object> doc = load(RULES);
    List<Map<String, Object>> all = new ArrayList<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) doc.get("groups")) {
      all.addAll((List<Map<String, Object>>) group.get("rules"));
    }
    return all;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> load(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return (Map<String, Object>) new Yaml().load(in);
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyAlertHasAnnotationsASeverityAndAUnitTest() throws IOException {
    Set<String> tested = new TreeSet<>();
    for (Map<String, Object> test : (List<Map<String, Object>>) load(TESTS).get("tests")) {
      for (Map<String, Object> t : (List<Map<String, Object>>) test.get("alert_rule_test")) {
        List<Object> expected = (List<Object>) t.get("exp_alerts");
        if (expected != null && !expected.isEmpty()) {
          tested.add((String) t.get("alertname"));
        }
      }
    }
    Set<String> alerts = new TreeSet<>();
    for (Map<String, Object> rule : rules()) {
      String name = (String) rule.get("alert");
      if (name == null) {
        continue;
      }
      alerts.add(name);
      Map<String, Object> annotations = (Map<String, Object>) rule.getOrDefault("annotations", Map.of());
      for (String a : List.of("summary", "description", "runbook")) {
        assertTrue(annotations.get(a) instanceof String s && !s.isBlank(), name + " has no " + a);
      }
      Map<String, Object> labels = (Map<String, Object>) rule.getOrDefault("labels", Map.of());
      assertTrue(Set.of("page", "ticket", "info").contains(labels.get("severity")),
          name + " needs a severity of page, ticket or info, has " + labels.get("severity"));
    }
    assertEquals(Set.of("AimosStoreDown", "AimosProjectionLagHigh", "AimosProjectionStalled",
        "AimosReconciliationFlaggedRows", "AimosReconciliationRepairing", "AimosSandboxQuarantined",
        "AimosHighErrorRatio", "AimosLatencyP99OverSlo", "AimosClusterMemberUnreachable", "AimosErrorBudgetBurnFast",
        "AimosErrorBudgetBurnSlow", "AimosUpstreamErrors", "AimosWebhooksGivingUp", "AimosInvoicesAwaitingClose",
        "AimosUsageFreshnessSlow"),
        alerts);
    assertEquals(alerts, tested, "every alert needs a test in aimos-rules-test.yaml that shows it firing");
  }

  @Test
  void promtoolChecksAndTestsTheRules() throws Exception {
    String promtool = promtool();
    String check = run(promtool, "check", "rules", RULES.getFileName().toString());
    assertTrue(check.contains("SUCCESS"), check);
    String test = run(promtool, "test", "rules", TESTS.getFileName().toString());
    assertTrue(test.contains("SUCCESS"), test);
    assertFalse(test.contains("FAILED"), test);
  }

  /** The path of promtool (fetched once if need be), or the test is skipped saying what to install. */
  static String promtool() throws Exception {
    Path log = Files.createTempFile("promtool-fetch", ".log");
    try {
      Process p = new ProcessBuilder("bash", PROMETHEUS.resolve("promtool.sh").toString())
          .redirectError(log.toFile()).start();
      byte[] out = p.getInputStream().readAllBytes();
      assertTrue(p.waitFor(300, TimeUnit.SECONDS), "promtool.sh did not finish");
      String err = Files.readString(log);
      Assumptions.assumeTrue(p.exitValue() != 3, err.strip());
      assertEquals(0, p.exitValue(), "ops/prometheus/promtool.sh failed:\n" + err);
      return new String(out, StandardCharsets.UTF_8).strip();
    } finally {
      Files.deleteIfExists(log);
    }
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(PROMETHEUS.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", command) + " did not finish");
    assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
    return out;
  }
}
