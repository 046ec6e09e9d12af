package aimos.node.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.client.Collector;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard (ops/grafana/aimos.json) and the Prometheus rules (ops/prometheus/aimos-rules.yaml) name only
 * metrics a node registers, and recording rules the rules file defines: a renamed or removed metric fails here, not
 * on an operator's empty panel or silent alert.
 */
class DashboardMetricsTest {
  static final Path DASHBOARD = Path.of("..", "ops", "grafana", "aimos.json").toAbsolutePath().normalize();
  private static final Pattern METRIC = Pattern.compile("(?<![A-Za-z0-9_:\"$])(aimos[_:][A-Za-z0-9_:]+)");

  /** Every sample name a node exposes: counters with _total, histograms with _bucket, _sum and _count. */
  static Set<String> sampleNames(AimosMetrics metrics) {
    Set<String> names = new TreeSet<>();
    for (Collector.MetricFamilySamples f : Collections.list(metrics.registry().metricFamilySamples())) {
      switch (f.type) {
        case COUNTER -> names.add(f.name + "_total");
        case HISTOGRAM -> List.of("_bucket", "_sum", "_count").forEach(s -> names.add(f.name + s));
        case SUMMARY -> List.of("", "_sum", "_count").forEach(s -> names.add(f.name + s));
        default -> names.add(f.name);
      }
    }
    return names;
  }

  static Set<String> namesIn(String expression) {
    Set<String> names = new TreeSet<>();
    // label values ("aimos_...") are not metric names: drop quoted strings first
    Matcher m = METRIC.matcher(expression.replaceAll("\"[^\"]*\"", "\"\""));
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  /** Each expression of the dashboard: panel targets and template variable queries. */
  static List<String> dashboardExpressions() throws IOException {
    JsonNode dash = new ObjectMapper().readTree(DASHBOARD.toFile());
    List<String> out = new ArrayList<>();
    for (JsonNode panel : dash.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        out.add(target.path("expr").asText());
      }
      for (JsonNode nested : panel.path("panels")) {
        nested.path("targets").forEach(t -> out.add(t.path("expr").asText()));
      }
    }
    for (JsonNode variable : dash.path("templating").path("list")) {
      if (variable.path("type").asText().equals("query")) {
        out.add(variable.path("query").isTextual() ? variable.path("query").asText()
            : variable.path("query").path("query").asText());
      }
    }
    return out;
  }

  @Test
  void theDashboardAndTheRulesNameOnlyRegisteredMetrics() throws IOException {
    Set<String> known = new TreeSet<>(sampleNames(new AimosMetrics(false)));
    Set<String> recorded = new TreeSet<>();
    List<String> ruleExpressions = new ArrayList<>();
    for (Map<String, Object> rule : AlertRulesTest.rules()) {
      if (rule.get("record") != null) {
        recorded.add((String) rule.get("record"));
      }
      ruleExpressions.add(String.valueOf(rule.get("expr")));
    }
    known.addAll(recorded);
    Set<String> unknown = new TreeSet<>();
    Set<String> used = new TreeSet<>();
    for (String expression : dashboardExpressions()) {
      assertFalse(expression.isBlank(), "a dashboard target has no expression");
      used.addAll(namesIn(expression));
    }
    ruleExpressions.forEach(e -> used.addAll(namesIn(e)));
    for (String name : used) {
      if (!known.contains(name)) {
        unknown.add(name);
      }
    }
    assertEquals(Set.of(), unknown, "metrics named by the dashboard or the rules that no node registers; known: "
        + known);
    // what operators asked to see is on the dashboard
    Set<String> onDashboard = new TreeSet<>();
    dashboardExpressions().forEach(e -> onDashboard.addAll(namesIn(e)));
    for (String needed : List.of("aimos_requests_total", "aimos_request_duration_seconds_bucket",
        "aimos_prompt_tokens_total", "aimos_completion_tokens_total", "aimos_metered_charge_micro_usd_total",
        "aimos_active_leases", "aimos_lease_wait_seconds_bucket", "aimos_sandbox_state", "aimos_store_available",
        "aimos_projection_lag_seconds", "aimos_projection_last_event_timestamp_seconds",
        "aimos_reconciliation_flagged_rows", "aimos_webhook_attempts_total", "aimos_time_to_first_token_seconds_bucket",
        "aimos_requests_in_flight", "aimos_upstream_errors_total", "aimos_auth_failures_total",
        "aimos_cluster_members", "aimos_build_info", "aimos_sandbox_cold_starts_total")) {
      assertTrue(onDashboard.contains(needed), needed + " is not on the dashboard");
    }
  }

  /** Each sample name's label names, from a node that has seen one of everything it counts. */
  static Map<String, Set<String>> labelsBySample() {
    AimosMetrics m = new AimosMetrics(false);
    m.request("m", "ok", 0.1);
    m.requestStarted();
    m.metered("m", new aimos.tenant.TenantEntity.Recorded("r", "m", "v1", aimos.tenant.Units.tokens(1, 1), 1, false,
        ""));
    m.firstToken("m", 0.1);
    m.leaseAcquired("m", 0.1);
    m.ran("openai:p/x", 1, new aimos.model.sandbox.Worker.Failed(aimos.model.sandbox.Worker.FailureKind.UNAVAILABLE,
        "x"), null);
    m.authFailed(true);
    m.adminAuthFailed(false);
    m.quotaRejected("rpm");
    m.stateChanged("m", "v1", aimos.model.sandbox.SandboxMonitor.State.STARTING);
    m.stateChanged("m", "v1", aimos.model.sandbox.SandboxMonitor.State.READY);
    m.restarted("m", "v1");
    m.projectionLagMillis(1);
    m.usageVisibleAfterMillis(1);
    m.reconciled(true, 1, 1, 1);
    m.fallback("m", "f");
    m.attempted("delivered", 1);
    Map<String, Set<String>> labels = new java.util.TreeMap<>();
    for (Collector.MetricFamilySamples f : Collections.list(m.registry().metricFamilySamples())) {
      for (Collector.MetricFamilySamples.Sample sample : f.samples) {
        labels.computeIfAbsent(sample.name, k -> new TreeSet<>()).addAll(sample.labelNames);
      }
    }
    return labels;
  }

  private static final Pattern SELECTOR = Pattern.compile("(aimos_[A-Za-z0-9_]+)\\{([^}]*)}");
  private static final Pattern MATCHER = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*(=~|!~|!=|=)");

  /** The label names an expression's selectors of {@code aimos_} metrics match on, as "metric label". */
  static Set<String> selectorLabels(String expression) {
    Set<String> out = new TreeSet<>();
    Matcher m = SELECTOR.matcher(expression);
    while (m.find()) {
      Matcher l = MATCHER.matcher(m.group(2).replaceAll("\"[^\"]*\"", "\"\""));
      while (l.find()) {
        out.add(m.group(1) + " " + l.group(1));
      }
    }
    return out;
  }

  @Test
  void selectorsMatchOnlyLabelsTheMetricsHave() throws IOException {
    Map<String, Set<String>> labels = labelsBySample();
    List<String> expressions = new ArrayList<>(dashboardExpressions());
    for (Map<String, Object> rule : AlertRulesTest.rules()) {
      expressions.add(String.valueOf(rule.get("expr")));
    }
    Set<String> wrong = new TreeSet<>();
    for (String expression : expressions) {
      for (String metricLabel : selectorLabels(expression)) {
        String[] parts = metricLabel.split(" ");
        // instance and job come from the scrape
        if (!Set.of("instance", "job").contains(parts[1])
            && !labels.getOrDefault(parts[0], Set.of()).contains(parts[1])) {
          wrong.add(metricLabel);
        }
      }
    }
    assertEquals(Set.of(), wrong, "selectors on labels the metric does not have; labels: " + labels);
    assertEquals(Set.of("aimos_sandbox_state statu", "aimos_requests_total outcome"),
        selectorLabels("aimos_sandbox_state{statu=\"quarantined\"} + aimos_requests_total{outcome!~\"ok|x\"}"));
  }

  @Test
  void theNameCheckFindsAMetricThatDoesNotExist() {
    Set<String> known = sampleNames(new AimosMetrics(false));
    assertEquals(Set.of("aimos_request_duration_seconds_bucket", "aimos_no_such_metric_total"),
        namesIn("histogram_quantile(0.99, sum by (le) (rate(aimos_request_duration_seconds_bucket{job=\"aimos_x\"}"
            + "[5m]))) + aimos_no_such_metric_total"));
    assertFalse(known.contains("aimos_no_such_metric_total"));
    assertTrue(known.contains("aimos_requests_total"), known.toString());
    assertTrue(known.contains("aimos_cluster_members"), known.toString());
  }

  @Test
  void theDashboardTakesItsPrometheusFromAVariable() throws IOException {
    JsonNode dash = new ObjectMapper().readTree(DASHBOARD.toFile());
    JsonNode ds = dash.path("templating").path("list").get(0);
    assertEquals("datasource", ds.path("type").asText());
    assertEquals("prometheus", ds.path("query").asText());
    for (JsonNode panel : dash.path("panels")) {
      if (!panel.path("type").asText().equals("row")) {
        assertEquals("${datasource}", panel.path("datasource").path("uid").asText(), panel.path("title").asText());
      }
    }
  }
}
