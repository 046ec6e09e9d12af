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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

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
  private final Histogram latency;
  private final Gauge inFlight = Gauge.build("aimos_requests_in_flight",
      "Inference requests this node's gateway has received and not yet answered.").register(registry);
  private final Counter promptTokens = Counter.build("aimos_prompt_tokens_total",
      "Prompt (input) tokens of metered requests, by model.").labelNames("model").register(registry);
  private final Counter completionTokens = Counter.build("aimos_completion_tokens_total",
      "Completion (output) tokens of metered requests, by model.").labelNames("model").register(registry);
  private final Histogram timeToFirstToken = Histogram.build("aimos_time_to_first_token_seconds",
      "Streamed requests: from the request's arrival to its first text piece.")
      .labelNames("model")
      .buckets(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
      .register(registry);
  private final Histogram leaseWait = Histogram.build("aimos_lease_wait_seconds",
      "Time a request waited for a worker lease of its model (the lease queue), for granted leases.")
      .labelNames("model")
      .buckets(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
      .register(registry);
  private final Histogram upstreamDuration = Histogram.build("aimos_upstream_request_duration_seconds",
      "Requests run by an upstream (openai:<provider>/<model>) runtime: from the run to the upstream's answer.")
      .labelNames("provider")
      .buckets(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
      .register(registry);
  private final Counter upstreamErrors = Counter.build("aimos_upstream_errors_total",
      "Requests an upstream runtime failed to answer, by provider and kind (invalid_input, deadline, unavailable, "
          + "model_error, timeout).")
      .labelNames("provider", "kind").register(registry);
  private final Counter authFailures = Counter.build("aimos_auth_failures_total",
      "Inference requests refused as unauthenticated, by reason (missing_key, invalid_key).")
      .labelNames("reason").register(registry);
  private final Counter adminAuthFailures = Counter.build("aimos_admin_auth_failures_total",
      "Management (admin API) requests refused for their token, by reason: refused (missing, unknown, revoked or "
          + "wrong token) or throttled (too many failed logins from the address).")
      .labelNames("reason").register(registry);
  private final Counter sandboxColdStarts = Counter.build("aimos_sandbox_cold_starts_total",
      "Sandbox processes started on this node (first starts, restarts and the probes of quarantined sandboxes).")
      .labelNames("model", "version").register(registry);
  private final Histogram sandboxStartDuration = Histogram.build("aimos_sandbox_start_duration_seconds",
      "From a sandbox's start to its first ready state.")
      .buckets(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120).register(registry);
  private final Map<String, Long> sandboxStarting = new ConcurrentHashMap<>();
  private final Gauge buildInfo = Gauge.build("aimos_build_info",
      "Always 1: the AIMOS version and Java runtime version of this node.")
      .labelNames("version", "java").register(registry);
  private volatile Supplier<ClusterView> cluster = () -> ClusterView.EMPTY;
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
  private final Gauge projectionLastEvent = Gauge.build("aimos_projection_last_event_timestamp_seconds",
      "When (Unix time) the billing projection on this node last wrote a usage event; 0 before its first. Stops "
          + "moving while the projection is stalled.").register(registry);
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

  private final Counter invoiceCloseRuns = Counter.build("aimos_invoice_close_runs_total",
      "Runs of the automatic invoice close on this node.").register(registry);
  private final Counter invoiceCloseMonths = Counter.build("aimos_invoice_close_months_total",
      "Closed tenant-months the invoice close tried to finalize, by result (finalized, already_finalized, "
          + "unreconciled, refused, failed).").labelNames("result").register(registry);
  private final Gauge invoicesAwaitingClose = Gauge.build("aimos_invoices_awaiting_close",
      "Closed tenant-months with usage still without a finalized invoice after this node's last close run, by reason "
          + "(unreconciled, refused, failed, voided).").labelNames("reason").register(registry);
  private static final List<String> AWAITING_CLOSE = List.of("unreconciled", "refused", "failed", "voided");
  private final Gauge invoiceCloseLastRun = Gauge.build("aimos_invoice_close_last_run_timestamp_seconds",
      "When this node's last invoice close run ended.").register(registry);

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

  /** Request duration buckets below the longest request time, which adds its own (see {@link #requestBuckets}). */
  private static final double[] REQUEST_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1,
      2.5, 5, 10, 30, 60, 120, 300, 600};

  /**
   * The request duration buckets for requests that may take up to {@code longest}: the fixed ones below it, and
   * {@code longest} (whole seconds, rounded up) as the last, so that the slowest answer the gateway still gives falls
   * in a bucket of its own rather than in +Inf.
   */
  static double[] requestBuckets(Duration longest) {
    double top = Math.ceil(longest.toMillis() / 1000.0);
    java.util.stream.DoubleStream below = java.util.Arrays.stream(REQUEST_BUCKETS).filter(b -> b < top);
    return java.util.stream.DoubleStream.concat(below, java.util.stream.DoubleStream.of(top)).toArray();
  }

  /** The reasons of {@code aimos_auth_failures_total}. */
  public static final List<String> AUTH_FAILURE_REASONS = List.of("missing_key", "invalid_key");

  /** The members of the cluster as this node sees them: how many in each status, and how many unreachable. */
  public record ClusterView(Map<String, Integer> byStatus, int unreachable) {
    static final ClusterView EMPTY = new ClusterView(Map.of(), 0);
  }

  /** The statuses of {@code aimos_cluster_members} (Pekko's member statuses), always all of them. */
  public static final List<String> MEMBER_STATUSES = List.of("joining", "weakly_up", "up", "leaving", "exiting",
      "down", "removed", "preparing_for_shutdown", "ready_for_shutdown");

  /** Metrics of a node whose requests take at most 10 minutes. */
  public AimosMetrics(boolean jvmMetrics) {
    this(jvmMetrics, Duration.ofMinutes(10));
  }

  /**
   * Metrics of a node whose requests may take up to {@code longestRequest} (the HTTP server's request timeout, which
   * the gateway's longest path stays under).
   */
  public AimosMetrics(boolean jvmMetrics, Duration longestRequest) {
    latency = Histogram.build("aimos_request_duration_seconds",
        "Inference latency at the gateway, admission to metered answer.")
        .labelNames("model")
        .buckets(requestBuckets(longestRequest))
        .register(registry);
    storeAvailable.set(1);
    AWAITING_CLOSE.forEach(reason -> invoicesAwaitingClose.labels(reason).set(0));
    buildInfo.labels(version(), System.getProperty("java.version", "unknown")).set(1);
    registry.register(new io.prometheus.client.Collector() {
      @Override
      public List<MetricFamilySamples> collect() {
        ClusterView view = cluster.get();
        List<MetricFamilySamples.Sample> members = new ArrayList<>();
        for (String status : MEMBER_STATUSES) {
          members.add(new MetricFamilySamples.Sample("aimos_cluster_members", List.of("status"), List.of(status),
              view.byStatus().getOrDefault(status, 0)));
        }
        return List.of(
            new MetricFamilySamples("aimos_cluster_members", Type.GAUGE,
                "Cluster members this node sees, by member status.", members),
            new MetricFamilySamples("aimos_cluster_unreachable_members", Type.GAUGE,
                "Cluster members this node's failure detector marks unreachable.",
                List.of(new MetricFamilySamples.Sample("aimos_cluster_unreachable_members", List.of(), List.of(),
                    view.unreachable()))));
      }
    });
    if (jvmMetrics) {
      DefaultExports.register(registry);
    }
  }

  /** This build's version: the project version the build wrote into aimos-build.properties, else "unknown". */
  public static String version() {
    try (var in = AimosMetrics.class.getResourceAsStream("/aimos-build.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "");
      return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** Where {@code aimos_cluster_members} and {@code aimos_cluster_unreachable_members} read the cluster at scrape. */
  public void cluster(Supplier<ClusterView> view) {
    this.cluster = view;
  }

  /** Reads this node's view of its cluster at each scrape. */
  public void watchCluster(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    org.apache.pekko.cluster.Cluster c = org.apache.pekko.cluster.Cluster.get(
        org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system));
    cluster(() -> {
      org.apache.pekko.cluster.ClusterEvent.CurrentClusterState state = c.state();
      Map<String, Integer> byStatus = new java.util.HashMap<>();
      for (org.apache.pekko.cluster.Member m : state.getMembers()) {
        byStatus.merge(statusName(m.status()), 1, Integer::sum);
      }
      return new ClusterView(byStatus, state.getUnreachable().size());
    });
  }

  /** A member status as a label value: {@code WeaklyUp} is {@code weakly_up}. */
  static String statusName(org.apache.pekko.cluster.MemberStatus status) {
    String name = status.toString().replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase();
    return MEMBER_STATUSES.contains(name) ? name : "other";
  }

  /** A request the gateway started serving; {@link #requestDone} when it is answered. */
  public void requestStarted() {
    inFlight.inc();
  }

  public void requestDone() {
    inFlight.dec();
  }

  /**
   * A request refused as unauthenticated: {@code missing_key} when it carried no credentials, else
   * {@code invalid_key} (malformed, unknown, revoked or wrong: never which).
   */
  public void authFailed(boolean missing) {
    authFailures.labels(missing ? "missing_key" : "invalid_key").inc();
  }

  /** An admin API request refused for its token ({@code throttled}: refused without a look at it). */
  public void adminAuthFailed(boolean throttled) {
    adminAuthFailures.labels(throttled ? "throttled" : "refused").inc();
  }

  /** A metered answer of a registered model: its charge and tokens (a replayed answer adds nothing). */
  public void metered(String model, aimos.tenant.TenantEntity.Recorded recorded) {
    if (recorded.replayed()) {
      meteredCharge.labels(model).inc(0);
      return;
    }
    meteredCharge.labels(model).inc(recorded.chargeMicros());
    promptTokens.labels(model).inc(recorded.units().promptTokens());
    completionTokens.labels(model).inc(recorded.units().completionTokens());
  }

  /** The first text piece of a streamed request of a registered model, {@code seconds} after the request came. */
  public void firstToken(String model, double seconds) {
    timeToFirstToken.labels(model).observe(seconds);
  }

  /** A lease of a registered model granted after {@code seconds} of waiting. */
  public void leaseAcquired(String model, double seconds) {
    leaseWait.labels(model).observe(seconds);
    activeLeases.inc();
  }

  /**
   * A run on a worker of {@code runtime} that took {@code seconds}: counted as an upstream request when the runtime
   * is an upstream one ({@code openai:<provider>/<model>}), with its failure kind if it failed ({@code result} not
   * an answer, or {@code err} when the worker did not answer in time).
   */
  public void ran(String runtime, double seconds, aimos.model.sandbox.Worker.Result result, Throwable err) {
    String provider = aimos.model.runtime.OpenAiUpstreamRuntime.providerOf(runtime);
    if (provider == null) {
      return;
    }
    upstreamDuration.labels(provider).observe(seconds);
    if (err != null || result == null) {
      upstreamErrors.labels(provider, "timeout").inc();
    } else if (result instanceof aimos.model.sandbox.Worker.Failed f) {
      upstreamErrors.labels(provider, f.kind().name().toLowerCase()).inc();
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

  public void leaseReleased() {
    activeLeases.dec();
  }

  public void reconciled(boolean repair, long missingOrMispriced, long repaired, long flagged) {
    reconciliationRuns.labels(repair ? "repair" : "check").inc();
    reconciliationMissing.inc(missingOrMispriced);
    reconciliationRepaired.inc(repaired);
    reconciliationFlagged.set(flagged);
  }

  /** One run of the invoice close: what it did with each month tried, and what is left without an invoice. */
  public void invoiceClose(Map<String, Long> results, Map<String, Long> awaiting) {
    invoiceCloseRuns.inc();
    results.forEach((result, n) -> invoiceCloseMonths.labels(result).inc(n));
    for (String reason : AWAITING_CLOSE) {
      invoicesAwaitingClose.labels(reason).set(awaiting.getOrDefault(reason, 0L));
    }
    invoiceCloseLastRun.set(System.currentTimeMillis() / 1000.0);
  }

  @Override
  public void projectionLagMillis(long millis) {
    projectionLag.set(millis / 1000.0);
    projectionLastEvent.set(System.currentTimeMillis() / 1000.0);
  }

  @Override
  public void usageVisibleAfterMillis(long millis) {
    usageFreshness.observe(millis / 1000.0);
  }

  @Override
  public void stateChanged(String model, String version, State state) {
    String key = model + "@" + version;
    if (state == State.STARTING || state == State.PROBING) {
      // a new sandbox process (a quarantined sandbox's probe starts one too)
      sandboxColdStarts.labels(model, version).inc();
      sandboxStarting.put(key, System.nanoTime());
    } else if (state == State.READY) {
      Long since = sandboxStarting.remove(key);
      if (since != null) {
        sandboxStartDuration.observe((System.nanoTime() - since) / 1e9);
      }
    } else {
      sandboxStarting.remove(key);
    }
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

  /** This node's registry (its tests read the metric families from it). */
  CollectorRegistry registry() {
    return registry;
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
