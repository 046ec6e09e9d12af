package aimos.node.metrics;

import aimos.model.sandbox.SandboxMonitor;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Counter;
import io.prometheus.client.Gauge;
import io.prometheus.client.Histogram;
import io.prometheus.client.exporter.common.TextFormat;
import io.prometheus.client.hotspot.DefaultExports;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;

/**
 * This node's Prometheus metrics, in the {@code aimos_} namespace. Each node has its own registry (several nodes may
 * share a JVM in tests).
 */
public final class AimosMetrics implements SandboxMonitor, aimos.billing.webhook.WebhookMonitor,
    aimos.billing.projection.ProjectionMonitor {
  /** The model label of requests whose caller was not authenticated, or that named no model. */
  public static final String UNKNOWN_MODEL = "-";
  /** The model label of authenticated requests for a model that is not registered. */
  public static final String UNREGISTERED_MODEL = "unregistered";

  private final CollectorRegistry registry = new CollectorRegistry(true);

  private final Counter requests = Counter.build("aimos_requests_total",
      "Inference requests by model and outcome (ok or the gRPC status).")
      .labelNames("model", "outcome").register(registry);
  private final Histogram latency = Histogram.build("aimos_request_duration_seconds",
      "Inference latency at the gateway, admission to metered answer.")
      .labelNames("model")
      .buckets(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
      .register(registry);
  private final Counter quotaRejections = Counter.build("aimos_quota_rejections_total",
      "Requests refused by a tenant limit, by limit.")
      .labelNames("reason").register(registry);
  private final Gauge activeLeases = Gauge.build("aimos_active_leases",
      "Worker leases currently held by requests this node is serving.").register(registry);
  private final Counter sandboxRestarts = Counter.build("aimos_sandbox_restarts_total",
      "Sandbox process restarts on this node.")
      .labelNames("model", "version").register(registry);
  private final Gauge sandboxState = Gauge.build("aimos_sandbox_state",
      "1 for the current state of each sandbox on this node.")
      .labelNames("model", "version", "state").register(registry);
  private final Gauge projectionLag = Gauge.build("aimos_projection_lag_seconds",
      "Age of the newest usage event the billing projection wrote on this node.").register(registry);
  private final Histogram usageFreshness = Histogram.build("aimos_usage_freshness_seconds",
      "Per usage event: from its recorded_at (the metered answer) to the end of the rollup write that made it "
          + "visible to usage reads, as written by the billing projection on this node.")
      .buckets(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10).register(registry);
  private final Histogram overhead = Histogram.build("aimos_request_overhead_seconds",
      "Per answered inference request: the platform's own time (the gateway's total less the model's run), as "
          + "sent to the caller in aimos-overhead-ms.")
      .buckets(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5).register(registry);
  private final Counter meteredCharge = Counter.build("aimos_metered_charge_micro_usd_total",
      "Micro-dollars of usage metered by this node's gateway.").labelNames("model").register(registry);

  private final Counter reconciliationRuns = Counter.build("aimos_reconciliation_runs_total",
      "Reconciliation runs of journal against ledger.").labelNames("mode").register(registry);
  private final Counter reconciliationMissing = Counter.build("aimos_reconciliation_missing_rows_total",
      "Ledger rows found missing (or wrongly priced) by reconciliation.").register(registry);
  private final Counter reconciliationRepaired = Counter.build("aimos_reconciliation_repaired_rows_total",
      "Ledger rows written by reconciliation.").register(registry);
  private final Gauge reconciliationFlagged = Gauge.build("aimos_reconciliation_flagged_rows",
      "Ledger rows without an event, or request ids billed twice, in the last reconciliation.").register(registry);

  private final Gauge storeAvailable = Gauge.build("aimos_store_available",
      "1 while Cassandra answers this node's probe, 0 while requests are refused for want of it.").register(registry);

  private final Counter fallbacks = Counter.build("aimos_fallbacks_total",
      "Requests a model failed to answer and its version's fallback model served.")
      .labelNames("model", "fallback").register(registry);

  private final Counter webhookAttempts = Counter.build("aimos_webhook_attempts_total",
      "Webhook delivery attempts made by this node, by outcome (delivered, retry, gave_up, gone).")
      .labelNames("outcome").register(registry);
  private final Histogram webhookDuration = Histogram.build("aimos_webhook_attempt_duration_seconds",
      "Time from the start of a webhook attempt to the receiver's answer (or the error).")
      .buckets(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30).register(registry);

  public void overhead(double seconds) {
    overhead.observe(seconds);
  }

  @Override
  public void attempted(String outcome, long durationMillis) {
    webhookAttempts.labels(outcome).inc();
    webhookDuration.observe(durationMillis / 1000.0);
  }

  public AimosMetrics(boolean jvmMetrics) {
    storeAvailable.set(1);
    if (jvmMetrics) {
      DefaultExports.register(registry);
    }
  }

  public void fallback(String model, String fallback) {
    fallbacks.labels(model, fallback).inc();
  }

  public void storeAvailable(boolean available) {
    storeAvailable.set(available ? 1 : 0);
  }

  public void request(String model, String outcome, double seconds) {
    requests.labels(model, outcome).inc();
    latency.labels(model).observe(seconds);
  }

  public void quotaRejected(String reason) {
    quotaRejections.labels(reason).inc();
  }

  public void leaseAcquired() {
    activeLeases.inc();
  }

  public void leaseReleased() {
    activeLeases.dec();
  }

  public void charged(String model, long micros) {
    meteredCharge.labels(model).inc(micros);
  }

  public void reconciled(boolean repair, long missingOrMispriced, long repaired, long flagged) {
    reconciliationRuns.labels(repair ? "repair" : "check").inc();
    reconciliationMissing.inc(missingOrMispriced);
    reconciliationRepaired.inc(repaired);
    reconciliationFlagged.set(flagged);
  }

  @Override
  public void projectionLagMillis(long millis) {
    projectionLag.set(millis / 1000.0);
  }

  @Override
  public void usageVisibleAfterMillis(long millis) {
    usageFreshness.observe(millis / 1000.0);
  }

  @Override
  public void stateChanged(String model, String version, State state) {
    for (State s : State.values()) {
      sandboxState.labels(model, version, s.name().toLowerCase()).set(s == state ? 1 : 0);
    }
  }

  @Override
  public void restarted(String model, String version) {
    sandboxRestarts.labels(model, version).inc();
  }

  public double sandboxRestarts(String model, String version) {
    return sandboxRestarts.labels(model, version).get();
  }

  /** The text exposition format 0.0.4. */
  public String scrape() {
    StringWriter w = new StringWriter();
    try {
      TextFormat.write004(w, registry.metricFamilySamples());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return w.toString();
  }
}
