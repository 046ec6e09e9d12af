package aimos.chaos.drill;

import aimos.model.sandbox.ContainmentDrill;
import aimos.model.sandbox.SandboxSettings;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The {@code sandbox-escape} drill. A node runs it on itself ({@link #onThisNode}, behind the secops route
 * {@code POST /admin/chaos/drills/sandbox-escape}), since only the node can start a sandbox exactly as it starts its
 * models'; {@code bin/aimos chaos run sandbox-escape} asks every node it knows through that route and gathers the
 * reports ({@link #overApi}).
 */
public final class SandboxEscape {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final Duration RUN_LIMIT = Duration.ofMinutes(10);

  private SandboxEscape() {}

  /** Runs the drill in a sandbox of this node, made with its own settings; writes the report (JSON and Markdown). */
  public static Map<String, Object> onThisNode(Drill drill, SandboxSettings settings, String node, String runId,
                                               Path reportDir, Consumer<String> progress) throws Exception {
    progress.accept("a hostile model tries each way out of a sandbox of " + node);
    ContainmentDrill.Report r = ContainmentDrill.run(settings, runId);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("drill", drill.name());
    report.put("description", drill.description());
    report.put("verdict", r.passed() ? "PASS" : "FAIL");
    report.put("node", node);
    report.putAll(r.toMap());
    Map<String, Boolean> checks = new LinkedHashMap<>();
    checks.put("sandboxes are contained with every layer (aimos-jail; here: " + r.kind() + ", mode " + r.mode() + ")",
        r.kind().equals("JAIL") && r.missing().isEmpty());
    checks.put("every escape attempt was denied (" + r.denied() + " of " + r.attempts().size() + ")",
        r.denied() == r.attempts().size());
    report.put("checks", checks);
    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("attempts", r.attempts().size());
    figures.put("denied", r.denied());
    figures.put("succeeded", r.attempts().stream().filter(a -> a.result().equals("SUCCEEDED")).count());
    figures.put("notTried", r.attempts().stream().filter(a -> a.result().equals("NOT_TRIED")).count());
    report.put("figures", figures);
    write(report, reportDir, runId, "# sandbox-escape on " + node + ": " + report.get("verdict") + "\n\n"
        + "Containment: " + r.kind() + " (mode " + r.mode() + "): " + r.layers() + "\n\n" + r.table()
        + failures(r.failures()));
    progress.accept("sandbox-escape on " + node + ": " + report.get("verdict") + ", " + r.denied() + " of "
        + r.attempts().size() + " attempts denied");
    return report;
  }

  /**
   * Asks each node (by its management address) to run the drill on itself, one after the other, and gathers the
   * reports; it passes when every node passed.
   */
  public static Map<String, Object> overApi(Drill drill, List<String> managements, String secopsToken,
                                            aimos.chaos.tls.ClientTls tls, Path reportDir, Consumer<String> progress)
      throws Exception {
    List<Map<String, Object>> nodes = new ArrayList<>();
    for (String management : managements) {
      AdminClient api = new AdminClient(management, "", secopsToken, tls);
      progress.accept("asking the node at " + management + " to run " + drill.name());
      JsonNode started = api.secops("POST", "/admin/chaos/drills/" + drill.name(), null);
      String poll = started.get("poll").asText();
      long deadline = System.nanoTime() + RUN_LIMIT.toNanos();
      JsonNode run = started;
      while (!run.get("status").asText().equals("done") && !run.get("status").asText().equals("failed")) {
        if (System.nanoTime() > deadline) {
          throw new AdminClient.DrillFailure(0, "the node at " + management + " did not finish " + drill.name()
              + " within " + RUN_LIMIT.toMinutes() + " minutes (" + poll + ")");
        }
        Thread.sleep(500);
        run = api.secops("GET", poll, null);
      }
      Map<String, Object> node;
      if (run.get("status").asText().equals("done")) {
        node = JSON.convertValue(run.get("report"), new TypeReference<Map<String, Object>>() { });
      } else {
        node = new LinkedHashMap<>();
        node.put("drill", drill.name());
        node.put("verdict", "FAIL");
        node.put("node", management);
        node.put("failures", List.of("the drill could not run: " + run.get("error").asText()));
        node.put("checks", Map.of("the drill ran on the node", false));
      }
      progress.accept(management + ": " + node.get("verdict"));
      nodes.add(node);
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("drill", drill.name());
    report.put("description", drill.description());
    boolean pass = nodes.stream().allMatch(n -> "PASS".equals(n.get("verdict")));
    report.put("verdict", pass ? "PASS" : "FAIL");
    Map<String, Boolean> checks = new LinkedHashMap<>();
    Map<String, Object> figures = new LinkedHashMap<>();
    long attempts = 0;
    long denied = 0;
    StringBuilder md = new StringBuilder("# sandbox-escape: " + report.get("verdict") + "\n");
    for (Map<String, Object> n : nodes) {
      @SuppressWarnings("unchecked")
      Map<String, Boolean> own = (Map<String, Boolean>) n.getOrDefault("checks", Map.of());
      own.forEach((k, v) -> checks.put(n.get("node") + ": " + k, v));
      @SuppressWarnings("unchecked")
      Map<String, Object> f = (Map<String, Object>) n.getOrDefault("figures", Map.of());
      attempts += ((Number) f.getOrDefault("attempts", 0)).longValue();
      denied += ((Number) f.getOrDefault("denied", 0)).longValue();
      md.append("\n## ").append(n.get("node")).append(": ").append(n.get("verdict")).append("\n\n");
      @SuppressWarnings("unchecked")
      Map<String, Object> containment = (Map<String, Object>) n.get("containment");
      if (containment != null) {
        md.append("Containment: ").append(containment.get("kind")).append(" (mode ").append(containment.get("mode"))
            .append("): ").append(containment.get("layers")).append("\n\n");
      }
      md.append(table(n)).append(failures(asStrings(n.get("failures"))));
    }
    figures.put("nodes", nodes.size());
    figures.put("attempts", attempts);
    figures.put("denied", denied);
    report.put("checks", checks);
    report.put("figures", figures);
    report.put("nodes", nodes);
    write(report, reportDir, drill.name() + "-" + Long.toString(System.currentTimeMillis(), 36), md.toString());
    return report;
  }

  /** A node report's attempts as a Markdown table (attempt, result, detail). */
  @SuppressWarnings("unchecked")
  static String table(Map<String, Object> node) {
    StringBuilder t = new StringBuilder("| attempt | result | detail |\n| --- | --- | --- |\n");
    for (Map<String, Object> a : (List<Map<String, Object>>) node.getOrDefault("attempts", List.of())) {
      t.append("| ").append(cell(a.get("attempt"))).append(" | ").append(a.get("result")).append(" | ")
          .append(cell(a.get("detail"))).append(" |\n");
    }
    return t.toString();
  }

  /** A node report's attempts as terminal lines. */
  @SuppressWarnings("unchecked")
  static String lines(Map<String, Object> node, String indent) {
    StringBuilder sb = new StringBuilder();
    for (Map<String, Object> a : (List<Map<String, Object>>) node.getOrDefault("attempts", List.of())) {
      sb.append(indent).append(String.format("%-9s ", a.get("result"))).append(a.get("attempt")).append(": ")
          .append(a.get("detail")).append('\n');
    }
    for (String f : asStrings(node.get("failures"))) {
      sb.append(indent).append("why it fails: ").append(f).append('\n');
    }
    return sb.toString();
  }

  private static String cell(Object s) {
    return String.valueOf(s).replace("|", "/").replace("\n", " ");
  }

  @SuppressWarnings("unchecked")
  private static List<String> asStrings(Object list) {
    return list instanceof List<?> l ? (List<String>) l : List.of();
  }

  private static String failures(List<String> failures) {
    if (failures.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder("\nWhy it fails:\n\n");
    failures.forEach(f -> sb.append("- ").append(f).append('\n'));
    return sb.toString();
  }

  private static void write(Map<String, Object> report, Path reportDir, String runId, String markdown)
      throws IOException {
    Files.createDirectories(reportDir);
    Path json = reportDir.resolve(runId + ".json");
    Path md = reportDir.resolve(runId + ".md");
    Files.writeString(md, markdown);
    report.put("reportFile", json.toString());
    report.put("tableFile", md.toString());
    JSON.writeValue(json.toFile(), report);
  }
}
