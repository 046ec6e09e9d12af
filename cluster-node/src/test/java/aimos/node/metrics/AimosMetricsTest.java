package aimos.node.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.model.sandbox.SandboxMonitor;
import aimos.model.sandbox.Worker;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class AimosMetricsTest {
  private final AimosMetrics metrics = new AimosMetrics(false);

  private Double value(String name, String... labels) {
    String[] names = new String[labels.length / 2];
    String[] values = new String[labels.length / 2];
    for (int i = 0; i < names.length; i++) {
      names[i] = labels[2 * i];
      values[i] = labels[2 * i + 1];
    }
    return metrics.registry().getSampleValue(name, names, values);
  }

  @Test
  void meteredAnswersCountTokensAndChargeByModelAndReplaysCountNothing() {
    metrics.metered("demo-text", new TenantEntity.Recorded("r1", "demo-text", "v1", Units.tokens(12, 30), 420, false,
        "f"));
    metrics.metered("demo-text", new TenantEntity.Recorded("r1", "demo-text", "v1", Units.tokens(12, 30), 420, true,
        "f"));
    assertEquals(12.0, value("aimos_prompt_tokens_total", "model", "demo-text"));
    assertEquals(30.0, value("aimos_completion_tokens_total", "model", "demo-text"));
    assertEquals(420.0, value("aimos_metered_charge_micro_usd_total", "model", "demo-text"));
  }

  @Test
  void requestDurationBucketsReachTheLongestRequestTime() {
    metrics.request("demo-text", "ok", 400);
    assertEquals(0.0, value("aimos_request_duration_seconds_bucket", "model", "demo-text", "le", "300.0"));
    assertEquals(1.0, value("aimos_request_duration_seconds_bucket", "model", "demo-text", "le", "600.0"));
    // a node's longest request: the HTTP server's timeout, above the slowest runtime's (upstream models: 5 minutes)
    java.time.Duration longest = aimos.node.NodeSettings.from(com.typesafe.config.ConfigFactory.load())
        .serverRequestTimeout();
    assertTrue(longest.toSeconds() > aimos.model.runtime.OpenAiUpstreamRuntime.MAX_REQUEST_TIME.toSeconds(),
        longest.toString());
    AimosMetrics node = new AimosMetrics(false, longest);
    node.request("slowest", "ok", longest.toMillis() / 1000.0 - 1);
    double[] buckets = AimosMetrics.requestBuckets(longest);
    double top = buckets[buckets.length - 1];
    assertEquals(Math.ceil(longest.toMillis() / 1000.0), top);
    assertEquals(1.0, node.registry().getSampleValue("aimos_request_duration_seconds_bucket",
        new String[] {"model", "le"}, new String[] {"slowest", io.prometheus.client.Collector.doubleToGoString(top)}));
    assertEquals(0.0, node.registry().getSampleValue("aimos_request_duration_seconds_bucket",
        new String[] {"model", "le"}, new String[] {"slowest", "300.0"}));
    // buckets only grow
    for (int i = 1; i < buckets.length; i++) {
      assertTrue(buckets[i] > buckets[i - 1], java.util.Arrays.toString(buckets));
    }
    // a node with 30 s requests: the fixed buckets below 30 s, then 30 s itself
    double[] short30 = AimosMetrics.requestBuckets(java.time.Duration.ofSeconds(30));
    assertEquals(10.0, short30[short30.length - 2]);
    assertEquals(30.0, short30[short30.length - 1]);
    double[] odd = AimosMetrics.requestBuckets(java.time.Duration.ofMillis(650_500));
    assertEquals(600.0, odd[odd.length - 2]);
    assertEquals(651.0, odd[odd.length - 1]);
  }

  @Test
  void inFlightGoesUpAndDown() {
    metrics.requestStarted();
    metrics.requestStarted();
    metrics.requestDone();
    assertEquals(1.0, value("aimos_requests_in_flight"));
  }

  @Test
  void authFailuresHaveTwoReasons() {
    metrics.authFailed(true);
    metrics.authFailed(false);
    metrics.authFailed(false);
    assertEquals(1.0, value("aimos_auth_failures_total", "reason", "missing_key"));
    assertEquals(2.0, value("aimos_auth_failures_total", "reason", "invalid_key"));
    assertEquals(AimosMetrics.AUTH_FAILURE_REASONS.size(), metrics.scrape().lines()
        .filter(l -> l.startsWith("aimos_auth_failures_total{")).count());
  }

  @Test
  void adminAuthFailuresAreRefusedOrThrottled() {
    metrics.adminAuthFailed(false);
    metrics.adminAuthFailed(true);
    metrics.adminAuthFailed(true);
    assertEquals(1.0, value("aimos_admin_auth_failures_total", "reason", "refused"));
    assertEquals(2.0, value("aimos_admin_auth_failures_total", "reason", "throttled"));
  }

  @Test
  void upstreamRunsAreMeasuredByProviderAndOtherRuntimesAreNot() {
    metrics.ran("openai:acme/gpt-x", 1.5, new Worker.Completed("hi", 1, 1), null);
    metrics.ran("openai:acme/gpt-x", 2, new Worker.Failed(Worker.FailureKind.UNAVAILABLE, "down"), null);
    metrics.ran("openai:acme/gpt-y", 30, null, new TimeoutException());
    metrics.ran("echo", 0.01, new Worker.Failed(Worker.FailureKind.MODEL_ERROR, "x"), null);
    assertEquals(3.0, value("aimos_upstream_request_duration_seconds_count", "provider", "acme"));
    assertEquals(1.0, value("aimos_upstream_errors_total", "provider", "acme", "kind", "unavailable"));
    assertEquals(1.0, value("aimos_upstream_errors_total", "provider", "acme", "kind", "timeout"));
    assertFalse(metrics.scrape().contains("provider=\"echo\""));
  }

  @Test
  void sandboxStartsAreCountedAndTimedToReady() {
    metrics.stateChanged("m", "v1", SandboxMonitor.State.STARTING);
    metrics.stateChanged("m", "v1", SandboxMonitor.State.READY);
    metrics.stateChanged("m", "v1", SandboxMonitor.State.RESTARTING);
    metrics.stateChanged("m", "v1", SandboxMonitor.State.STARTING);
    metrics.stateChanged("m", "v1", SandboxMonitor.State.QUARANTINED);
    metrics.stateChanged("m", "v1", SandboxMonitor.State.PROBING);
    metrics.stateChanged("m", "v1", SandboxMonitor.State.READY);
    assertEquals(3.0, value("aimos_sandbox_cold_starts_total", "model", "m", "version", "v1"));
    // the start that ended in quarantine never became ready
    assertEquals(2.0, value("aimos_sandbox_start_duration_seconds_count"));
    assertEquals(1.0, value("aimos_sandbox_state", "model", "m", "version", "v1", "state", "ready"));
  }

  @Test
  void clusterMembersAreReportedForEveryStatusAtScrape() {
    assertEquals(0.0, value("aimos_cluster_members", "status", "up"));
    metrics.cluster(() -> new AimosMetrics.ClusterView(Map.of("up", 3, "leaving", 1), 1));
    assertEquals(3.0, value("aimos_cluster_members", "status", "up"));
    assertEquals(1.0, value("aimos_cluster_members", "status", "leaving"));
    assertEquals(0.0, value("aimos_cluster_members", "status", "weakly_up"));
    assertEquals(1.0, value("aimos_cluster_unreachable_members"));
    assertEquals(AimosMetrics.MEMBER_STATUSES.size(), metrics.scrape().lines()
        .filter(l -> l.startsWith("aimos_cluster_members{")).count());
    assertEquals("weakly_up", AimosMetrics.statusName(org.apache.pekko.cluster.MemberStatus.weaklyUp()));
    assertEquals("preparing_for_shutdown",
        AimosMetrics.statusName(org.apache.pekko.cluster.MemberStatus.shuttingDown()));
    assertEquals("ready_for_shutdown", AimosMetrics.statusName(org.apache.pekko.cluster.MemberStatus.shutDown()));
    assertEquals("up", AimosMetrics.statusName(org.apache.pekko.cluster.MemberStatus.up()));
  }

  @Test
  void buildInfoNamesTheProjectVersion() {
    String version = AimosMetrics.version();
    // the build writes the Maven project version into aimos-build.properties
    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.*"), version);
    assertEquals(1.0, value("aimos_build_info", "version", version, "java", System.getProperty("java.version")));
  }

  @Test
  void projectionWritesMoveItsLastEventTimestamp() {
    assertEquals(0.0, value("aimos_projection_last_event_timestamp_seconds"));
    long before = System.currentTimeMillis() / 1000;
    metrics.projectionLagMillis(1500);
    assertEquals(1.5, value("aimos_projection_lag_seconds"));
    assertTrue(value("aimos_projection_last_event_timestamp_seconds") >= before);
  }

  @Test
  void leaseWaitAndFirstTokenAreHistogramsByModel() {
    metrics.leaseAcquired("m", 0.003);
    metrics.firstToken("m", 0.2);
    assertEquals(1.0, value("aimos_lease_wait_seconds_count", "model", "m"));
    assertEquals(1.0, value("aimos_active_leases"));
    assertEquals(1.0, value("aimos_time_to_first_token_seconds_bucket", "model", "m", "le", "0.25"));
    assertNull(value("aimos_time_to_first_token_seconds_count", "model", "other"));
  }
}
