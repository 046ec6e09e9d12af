package aimos.tenant;

import aimos.tenant.TenantEntity.Admit;
import aimos.tenant.TenantEntity.Admitted;
import aimos.tenant.TenantEntity.Reason;
import aimos.tenant.TenantEntity.Rejected;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * In-memory rate buckets, in-flight admissions and worker-lease quota of one entity incarnation. An admission
 * holds one unit of the tenant's worker-lease quota from admission until its lease is given back (or it ends).
 */
final class AdmissionLimiter {
  private final String tenantId;
  private final TenantEntity.Settings settings;
  private final TimerScheduler<TenantEntity.Command> timers;

  AdmissionLimiter(String tenantId, TenantEntity.Settings settings, TimerScheduler<TenantEntity.Command> timers) {
    this.tenantId = tenantId;
    this.settings = settings;
    this.timers = timers;
  }

  String currentMonth() {
    return YearMonth.now(settings.clock().withZone(ZoneOffset.UTC)).toString();
  }

  private final TokenBucket requests = new TokenBucket();
  private final TokenBucket tokens = new TokenBucket();
  private final Map<String, Long> inFlight = new HashMap<>();
  /** The request id and input fingerprint of each admission in flight, by admission id and by request id. */
  private final Map<String, String> requestOf = new HashMap<>();
  private final Map<String, String> fingerprintByRequest = new HashMap<>();
  /** Per model the tenant's requests made fail: a budget of failures a minute. */
  private final Map<String, TokenBucket> modelFailures = new HashMap<>();
  private final Map<String, String> modelOf = new HashMap<>();
  /** The node whose gateway asked for each admission in flight (where its reply went). */
  private final Map<String, org.apache.pekko.actor.Address> askedFrom = new HashMap<>();
  /** The gateway attempt that holds each admission in flight (see {@link Admit#attempt()}), when it named one. */
  private final Map<String, String> attemptOf = new HashMap<>();
  private final Map<String, String> admissionByAttempt = new HashMap<>();
  private final java.util.Set<String> leasing = new java.util.HashSet<>();
  private final java.util.ArrayDeque<Waiting> waiting = new java.util.ArrayDeque<>();

  private static final class Waiting {
    private Admit admit;
    private final long deadlineNanos;

    private Waiting(Admit admit, long deadlineNanos) {
      this.admit = admit;
      this.deadlineNanos = deadlineNanos;
    }

    Admit admit() {
      return admit;
    }

    long deadlineNanos() {
      return deadlineNanos;
    }
  }

  boolean leaseAvailable(TenantState s) {
    return leasing.size() < s.plan.maxWorkerLeases();
  }

  /** Queues an admission until a worker lease of this tenant is freed; a rejection when the queue is full. */
  Rejected enqueue(TenantState s, Admit c) {
    if (waiting.size() >= s.plan.maxConcurrentRequests()) {
      return new Rejected(Reason.WORKER_LEASES, "tenant " + tenantId + " holds all " + s.plan.maxWorkerLeases()
          + " worker leases of its quota and " + waiting.size() + " requests already wait for one", 100);
    }
    if (waiting.isEmpty()) {
      timers.startTimerWithFixedDelay("lease-wait", new TenantEntity.ExpireWaiting(), Duration.ofMillis(50));
    }
    waiting.add(new Waiting(c, System.nanoTime() + settings.leaseWait().toNanos()));
    return null;
  }

  void freeLease(String admissionId) {
    leasing.remove(admissionId);
  }

  /** Admits waiting requests while the quota allows, each checked again against the other limits. */
  void serveWaiting(TenantState s) {
    while (!waiting.isEmpty() && leaseAvailable(s)) {
      Admit c = waiting.poll().admit();
      Rejected r = check(s, c, currentMonth());
      c.replyTo().tell(r != null ? r : new Admitted(tenantId, admit(c)));
    }
    if (waiting.isEmpty()) {
      timers.cancel("lease-wait");
    }
  }

  void expireWaiting(TenantState s) {
    long now = System.nanoTime();
    while (!waiting.isEmpty() && waiting.peek().deadlineNanos() - now < 0) {
      waiting.poll().admit().replyTo().tell(new Rejected(Reason.WORKER_LEASES, "tenant " + tenantId
          + " holds all " + s.plan.maxWorkerLeases() + " worker leases of its quota and none was given back within "
          + settings.leaseWait().toMillis() + " ms", settings.leaseWait().toMillis()));
    }
    serveWaiting(s);
  }

  /** Checks every limit without taking anything; null when the request may go ahead. */
  Rejected check(TenantState s, Admit c, String month) {
    Plan plan = s.plan;
    long nowNanos = System.nanoTime();
    inFlight.entrySet().removeIf(e -> {
      boolean expired = e.getValue() - nowNanos < 0;
      if (expired) {
        leasing.remove(e.getKey());
        forget(e.getKey());
      }
      return expired;
    });
    TokenBucket failures = modelFailures.get(c.model());
    if (failures != null) {
      failures.configure(settings.modelFailuresPerMinute(), nowNanos);
      if (failures.available() < 1) {
        return new Rejected(Reason.MODEL_FAILURES, "tenant " + tenantId + "'s requests made model " + c.model()
            + " fail " + settings.modelFailuresPerMinute() + " times within a minute; check the inputs you send "
            + "(each such request counts against the requests-per-minute limit)", failures.millisUntil(1));
      }
      if (failures.available() >= settings.modelFailuresPerMinute()) {
        modelFailures.remove(c.model());
      }
    }
    requests.configure(plan.requestsPerMinute(), nowNanos);
    tokens.configure(plan.tokensPerMinute(), nowNanos);
    if (requests.available() < 1) {
      return new Rejected(Reason.REQUESTS_PER_MINUTE, "tenant " + tenantId + " is over its limit of "
          + plan.requestsPerMinute() + " requests per minute", requests.millisUntil(1));
    }
    long want = Math.max(1, Math.min(c.estimatedTokens(), plan.tokensPerMinute()));
    if (tokens.available() < want) {
      return new Rejected(Reason.TOKENS_PER_MINUTE, "tenant " + tenantId + " is over its limit of "
          + plan.tokensPerMinute() + " tokens per minute", tokens.millisUntil(want));
    }
    if (inFlight.size() >= plan.maxConcurrentRequests()) {
      return new Rejected(Reason.CONCURRENT_REQUESTS, "tenant " + tenantId + " already has "
          + plan.maxConcurrentRequests() + " requests in flight, its plan's maximum", 100);
    }
    if (s.month.spendIn(month) >= plan.monthlyBudgetMicros()) {
      return new Rejected(Reason.MONTHLY_BUDGET, "tenant " + tenantId + " has used its monthly budget of $"
          + Money.format(plan.monthlyBudgetMicros()) + " for " + month, millisToNextMonth());
    }
    return null;
  }

  /** Admission ids only need to be unique within this incarnation of the entity: a counter, no random source. */
  private final String incarnation = Long.toHexString(System.nanoTime());
  private long admissions;

  String admit(Admit c) {
    requests.take(1);
    String id = incarnation + "-" + (++admissions);
    inFlight.put(id, System.nanoTime() + settings.admissionTimeout().toNanos());
    leasing.add(id);
    requestOf.put(id, c.requestId());
    fingerprintByRequest.put(c.requestId(), c.fingerprint());
    modelOf.put(id, c.model());
    askedFrom.put(id, c.replyTo().path().address());
    if (!c.attempt().isEmpty()) {
      attemptOf.put(id, c.attempt());
      admissionByAttempt.put(c.attempt(), id);
    }
    return id;
  }

  boolean release(String admissionId) {
    leasing.remove(admissionId);
    forget(admissionId);
    return inFlight.remove(admissionId) != null;
  }

  private void forget(String admissionId) {
    modelOf.remove(admissionId);
    askedFrom.remove(admissionId);
    String attempt = attemptOf.remove(admissionId);
    if (attempt != null) {
      admissionByAttempt.remove(attempt, admissionId);
    }
    String requestId = requestOf.remove(admissionId);
    if (requestId != null) {
      fingerprintByRequest.remove(requestId);
    }
  }

  /** The admission in flight for the request id, and the node that asked for it; null when there is none. */
  java.util.Map.Entry<String, org.apache.pekko.actor.Address> admissionOf(String requestId) {
    for (Map.Entry<String, String> e : requestOf.entrySet()) {
      if (e.getValue().equals(requestId)) {
        return Map.entry(e.getKey(), askedFrom.get(e.getKey()));
      }
    }
    return null;
  }

  /**
   * The admission in flight that the gateway attempt asking again already holds for the same request and input;
   * null when there is none.
   */
  String admissionOfAttempt(Admit c) {
    String id = admissionByAttempt.get(c.attempt());
    return id != null && c.requestId().equals(requestOf.get(id))
        && c.fingerprint().equals(fingerprintByRequest.get(c.requestId())) ? id : null;
  }

  /**
   * When the same gateway attempt already waits for a lease, its new ask takes the waiting one's place (the earlier
   * reply address may be gone); true when it did.
   */
  boolean askedAgainWhileWaiting(Admit c) {
    for (Waiting w : waiting) {
      if (w.admit().attempt().equals(c.attempt()) && w.admit().requestId().equals(c.requestId())
          && w.admit().fingerprint().equals(c.fingerprint())) {
        w.admit = c;
        return true;
      }
    }
    return false;
  }

  /** The input fingerprint of the request id if it is admitted or waiting for a lease now, else null. */
  String fingerprintOf(String requestId) {
    String admitted = fingerprintByRequest.get(requestId);
    if (admitted != null) {
      return admitted;
    }
    for (Waiting w : waiting) {
      if (w.admit().requestId().equals(requestId)) {
        return w.admit().fingerprint();
      }
    }
    return null;
  }

  /**
   * Spends one of the failure budget of the admission's model, once per incident (a sandbox that died with several
   * of the tenant's requests in it is one failure); call before the admission is released.
   */
  void modelFailed(String admissionId, String incident) {
    String model = modelOf.get(admissionId);
    if (model == null || !incident.isEmpty() && !recentIncidents.add(incident)) {
      return;
    }
    TokenBucket failures = modelFailures.computeIfAbsent(model, m -> new TokenBucket());
    failures.configure(settings.modelFailuresPerMinute(), System.nanoTime());
    failures.take(1);
  }

  /** The incidents already counted, the latest few. */
  private final java.util.Set<String> recentIncidents = java.util.Collections.newSetFromMap(
      new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > 64;
        }
      });

  void refundRequest() {
    requests.take(-1);
  }

  void debitTokens(long n) {
    tokens.take(n);
  }

  private long millisToNextMonth() {
    var now = java.time.ZonedDateTime.now(settings.clock().withZone(ZoneOffset.UTC));
    var next = now.toLocalDate().withDayOfMonth(1).plusMonths(1).atStartOfDay(ZoneOffset.UTC);
    return Duration.between(now, next).toMillis();
  }
}
