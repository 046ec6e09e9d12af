package aimos.tenant;

import aimos.api.v1.BillingUnit;
import aimos.serialization.KryoSerializable;
import java.time.Clock;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * One tenant: its plan, API keys and metered usage. It is the single owner of the tenant's quotas cluster-wide
 * (sharding gives it one writer), so limits are exact however many nodes serve the tenant.
 *
 * <p>Durable state (plan, keys, the month's usage, recent request ids) comes from events. Rate buckets and in-flight
 * admissions are in memory only: if the entity moves to another node they start afresh, which can briefly admit up
 * to one extra bucket of requests but never bills anything twice.
 */
public final class TenantEntity
    extends EventSourcedBehaviorWithEnforcedReplies<TenantEntity.Command, TenantEntity.Event, TenantEntity.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Tenant");
  /** Usage events are spread over a fixed set of tags, one per event, about ten per node of the largest cluster. */
  public static final int TAG_COUNT = 10;
  public static final String TAG_PREFIX = "tenant-usage-";
  public static final List<String> TAGS =
      IntStream.range(0, TAG_COUNT).mapToObj(i -> TAG_PREFIX + i).toList();
  /**
   * How many recent request ids a tenant remembers: a retry of one of them is answered from its recorded usage
   * without running the model, and the same id with another input is refused.
   */
  public static final int DEDUP_WINDOW = 10_000;
  public static final int MAX_ACTIVE_KEYS = 20;

  public static String tagFor(String tenantId) {
    return TAG_PREFIX + Math.floorMod(tenantId.hashCode(), TAG_COUNT);
  }

  public static String persistenceIdOf(String tenantId) {
    return PersistenceId.of(ENTITY_KEY.name(), tenantId).id();
  }

  /**
   * Runtime settings: how long an admission may stay unreleased, how long a request may wait for one of its tenant's
   * worker leases to be freed, how many of the tenant's requests may make a model fail per minute before its
   * requests are refused for a while (so that one tenant's inputs cannot get a model quarantined for everyone), and
   * the clock months are read from.
   */
  public record Settings(Duration admissionTimeout, Duration leaseWait, int modelFailuresPerMinute, Clock clock) {
    public Settings(Duration admissionTimeout, Duration leaseWait, Clock clock) {
      this(admissionTimeout, leaseWait, DEFAULT_MODEL_FAILURES_PER_MINUTE, clock);
    }

    public static Settings defaults() {
      return new Settings(Duration.ofMinutes(2), Duration.ofSeconds(2), Clock.systemUTC());
    }
  }

  /** Below the sandboxes' quarantine threshold (3 failures a minute), so one tenant alone cannot reach it. */
  public static final int DEFAULT_MODEL_FAILURES_PER_MINUTE = 2;

  // ---- commands ----

  public sealed interface Command extends KryoSerializable {}

  public record Create(String displayName, Plan plan, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  public record ChangePlan(Plan plan, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  public record IssueKey(ActorRef<StatusReply<IssuedKey>> replyTo) implements Command {}

  public record RevokeKey(String keyId, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  public record GetSummary(ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  /**
   * Authenticates the key's secret, looks the request id up and checks every limit; on success the request holds a
   * concurrency slot. {@code fingerprint} identifies the request's input (model, version, input): a request id that
   * was already answered for the same fingerprint is {@link Replayed} without running anything, one answered or in
   * flight for another input is refused. {@code deadlineEpochMillis} is when the asker stops waiting (0: never); an
   * Admit that arrives later (held in a shard's buffer while the tenant moved to another node, say) is dropped, since
   * nobody would release its slot.
   */
  public record Admit(String secret, String requestId, String fingerprint, String model, long estimatedTokens,
                      long deadlineEpochMillis, ActorRef<Admission> replyTo) implements Command {
    public Admit(String secret, String requestId, long estimatedTokens, ActorRef<Admission> replyTo) {
      this(secret, requestId, "", "", estimatedTokens, 0, replyTo);
    }

    public Admit(String secret, String requestId, long estimatedTokens, long deadlineEpochMillis,
                 ActorRef<Admission> replyTo) {
      this(secret, requestId, "", "", estimatedTokens, deadlineEpochMillis, replyTo);
    }

    @Override
    public String toString() {
      return "Admit[requestId=" + requestId + ", fingerprint=" + fingerprint + ", model=" + model + ", secret=***]";
    }
  }

  /**
   * Persists the usage of an admitted request (once per request id) and frees its slot. A request id already
   * recorded for another input fingerprint is refused with an error, and its output must not be given out.
   */
  public record RecordUsage(String admissionId, String requestId, String fingerprint, String model, String version,
                            BillingUnit unit, long unitPriceMicros, Units units, long latencyMicros,
                            ActorRef<StatusReply<Recorded>> replyTo) implements Command {
    public RecordUsage(String admissionId, String requestId, String model, String version, BillingUnit unit,
                       long unitPriceMicros, Units units, long latencyMicros, ActorRef<StatusReply<Recorded>> replyTo) {
      this(admissionId, requestId, "", model, version, unit, unitPriceMicros, units, latencyMicros, replyTo);
    }
  }

  /**
   * Frees the slot of an admitted request that failed before producing usage. A request refused or failed by the
   * platform (no capacity, a timeout, the caller's bad input) gives its rate token back and changes no limit; one
   * that made the model fail ({@code modelFailed}: it crashed, hung or errored on this input) keeps its rate token and
   * spends one of the tenant's failure budget for that model.
   */
  public record Release(String admissionId, boolean modelFailed, String incident) implements Command {
    public Release(String admissionId) {
      this(admissionId, false, "");
    }

    /** {@code incident}: what failed the request, when it failed others too; one incident spends one failure. */
    public static Release modelFailed(String admissionId, String incident) {
      return new Release(admissionId, true, incident);
    }
  }

  /** Persists the usage recorded since the last write, as one journal write (group commit). */
  private record FlushUsage() implements Command {}

  /** The request's worker lease was given back: its share of the tenant's GPU/CPU quota is free again. */
  public record LeaseReleased(String admissionId) implements Command {}

  /** Refuses requests that waited too long for a worker lease of their tenant's quota. */
  private record ExpireWaiting() implements Command {}

  /** Checks a key's secret without touching any limit: for calls that are not metered. */
  public record Authenticate(String secret, ActorRef<Admission> replyTo) implements Command {
    @Override
    public String toString() {
      return "Authenticate[secret=***]";
    }
  }

  // ---- replies ----

  public sealed interface Admission extends KryoSerializable {}

  public record Admitted(String tenantId, String admissionId) implements Admission {}

  /** The request id was already answered for this input: its recorded usage, nothing run, nothing billed again. */
  public record Replayed(String tenantId, Recorded recorded) implements Admission {}

  public record Rejected(Reason reason, String message, long retryAfterMillis) implements Admission {}

  public enum Reason {
    UNAUTHENTICATED, REQUESTS_PER_MINUTE, TOKENS_PER_MINUTE, CONCURRENT_REQUESTS, MONTHLY_BUDGET, WORKER_LEASES,
    /** The request id was used before for another input. */
    REQUEST_ID_REUSED,
    /** The request id is being served right now; its answer can be fetched by retrying once it is done. */
    REQUEST_IN_PROGRESS,
    /** The tenant's requests made the model fail too often in the last minute. */
    MODEL_FAILURES
  }

  /** The metered result of one request id; {@code fingerprint} is its input's, empty for usage recorded without. */
  public record Recorded(String requestId, String model, String version, Units units, long chargeMicros,
                         boolean replayed, String fingerprint) implements KryoSerializable {
    Recorded asReplay() {
      return new Recorded(requestId, model, version, units, chargeMicros, true, fingerprint);
    }

    /** Whether a request with this input fingerprint is a retry of this one; usage recorded without one matches. */
    public boolean sameInput(String otherFingerprint) {
      return fingerprint.isEmpty() || fingerprint.equals(otherFingerprint);
    }
  }

  public record IssuedKey(String keyId, String apiKey) implements KryoSerializable {
    @Override
    public String toString() {
      return "IssuedKey[keyId=" + keyId + ", apiKey=***]";
    }
  }

  public record KeyInfo(String keyId, long issuedAtMillis, boolean revoked) implements KryoSerializable {}

  public record Summary(String tenantId, String displayName, Plan plan, List<KeyInfo> keys, String month,
                        long monthRequests, long monthTokens, long monthSpendMicros) implements KryoSerializable {}

  // ---- events ----

  public sealed interface Event {}

  public record TenantCreated(String tenantId, String displayName, Plan plan, long createdAtMillis) implements Event {}

  public record PlanChanged(Plan plan) implements Event {}

  public record ApiKeyIssued(String keyId, byte[] salt, byte[] hash, long issuedAtMillis) implements Event {}

  public record ApiKeyRevoked(String keyId, long revokedAtMillis) implements Event {}

  /**
   * {@code inputFingerprint} is empty in events written before request inputs were fingerprinted. {@code chargeMicros}
   * was decided here, by the price list {@code priceListId} (0 in events written before price lists) in force at
   * {@code recordedAtMillis}, with {@code unitPriceMicros} the unit price it applied; everything downstream copies it.
   */
  public record UsageRecorded(String tenantId, String requestId, String model, String version, BillingUnit unit,
                              long unitPriceMicros, Units units, long monthTokensBefore, long chargeMicros,
                              long latencyMicros, long recordedAtMillis, String month, String inputFingerprint,
                              long priceListId)
      implements Event {
    public UsageRecorded(String tenantId, String requestId, String model, String version, BillingUnit unit,
                         long unitPriceMicros, Units units, long monthTokensBefore, long chargeMicros,
                         long latencyMicros, long recordedAtMillis, String month, String inputFingerprint) {
      this(tenantId, requestId, model, version, unit, unitPriceMicros, units, monthTokensBefore, chargeMicros,
          latencyMicros, recordedAtMillis, month, inputFingerprint, 0);
    }

    public UsageRecorded(String tenantId, String requestId, String model, String version, BillingUnit unit,
                         long unitPriceMicros, Units units, long monthTokensBefore, long chargeMicros,
                         long latencyMicros, long recordedAtMillis, String month) {
      this(tenantId, requestId, model, version, unit, unitPriceMicros, units, monthTokensBefore, chargeMicros,
          latencyMicros, recordedAtMillis, month, "");
    }
  }

  // ---- state ----

  record KeyRecord(String keyId, byte[] salt, byte[] hash, long issuedAtMillis, boolean revoked) {}

  private static final byte[] NO_SALT = new byte[16];
  private static final byte[] NO_HASH = new byte[32];

  /** Rebuilt from events only. */
  public static final class State {
    boolean created;
    String displayName = "";
    Plan plan;
    final Map<String, KeyRecord> keys = new LinkedHashMap<>();
    String month = "";
    long monthRequests;
    long monthTokens;
    long monthSpendMicros;
    final LinkedHashMap<String, Recorded> recent = new LinkedHashMap<>(16, 0.75f, false) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Recorded> eldest) {
        return size() > DEDUP_WINDOW;
      }
    };

    public boolean isCreated() {
      return created;
    }

    public long monthSpendMicros() {
      return monthSpendMicros;
    }

    boolean keyMatches(String secret) {
      KeyRecord k = keys.get(ApiKeys.keyIdOf(secret));
      if (k == null) {
        // hash anyway, so an unknown key id takes as long as a wrong secret
        ApiKeys.matches(NO_SALT, NO_HASH, secret);
        return false;
      }
      return ApiKeys.matches(k.salt(), k.hash(), secret) && !k.revoked();
    }

    long activeKeys() {
      return keys.values().stream().filter(k -> !k.revoked()).count();
    }

    long tokensBefore(String forMonth) {
      return month.equals(forMonth) ? monthTokens : 0;
    }

    long spendIn(String forMonth) {
      return month.equals(forMonth) ? monthSpendMicros : 0;
    }

    Summary summary(String tenantId) {
      List<KeyInfo> k = new ArrayList<>();
      keys.values().forEach(r -> k.add(new KeyInfo(r.keyId(), r.issuedAtMillis(), r.revoked())));
      return new Summary(tenantId, displayName, plan, k, month, monthRequests, monthTokens, monthSpendMicros);
    }
  }

  // ---- behaviour ----

  public static void init(ActorSystem<?> system, Settings settings, UsagePricer pricer) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx ->
        create(ctx.getEntityId(), settings, pricer, self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self)))));
  }

  /** An entity outside sharding: one for a tenant that does not exist stops after its first answer. */
  public static Behavior<Command> create(String tenantId, Settings settings, UsagePricer pricer) {
    return create(tenantId, settings, pricer, null);
  }

  private static Behavior<Command> create(String tenantId, Settings settings, UsagePricer pricer,
                                          java.util.function.Consumer<ActorRef<Command>> passivate) {
    return Behaviors.withTimers(timers ->
        Behaviors.setup(ctx -> new TenantEntity(tenantId, settings, pricer, ctx.getSelf(), timers, passivate)));
  }

  private final String tenantId;
  private final Settings settings;
  private final UsagePricer pricer;
  private final Limiter limiter = new Limiter();
  private final ActorRef<Command> self;
  private final TimerScheduler<Command> timers;
  /** Asks sharding to stop this entity; null outside sharding, where it stops by itself. */
  private final java.util.function.Consumer<ActorRef<Command>> passivate;
  /** Usage accepted but not yet written, in arrival order, with who waits for each request id. */
  private final LinkedHashMap<String, PendingUsage> unwritten = new LinkedHashMap<>();

  private record PendingUsage(UsageRecorded event, List<ActorRef<StatusReply<Recorded>>> waiting) {}

  private TenantEntity(String tenantId, Settings settings, UsagePricer pricer, ActorRef<Command> self,
                       TimerScheduler<Command> timers, java.util.function.Consumer<ActorRef<Command>> passivate) {
    super(PersistenceId.of(ENTITY_KEY.name(), tenantId),
        org.apache.pekko.actor.typed.SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200),
            Duration.ofSeconds(5), 0.2));
    this.tenantId = tenantId;
    this.settings = settings;
    this.pricer = pricer;
    this.self = self;
    this.timers = timers;
    this.passivate = passivate;
  }

  @Override
  public State emptyState() {
    return new State();
  }

  @Override
  public Set<String> tagsFor(Event event) {
    return event instanceof UsageRecorded ? Set.of(tagFor(tenantId)) : Set.of();
  }

  private long now() {
    return settings.clock().millis();
  }

  private String currentMonth() {
    return YearMonth.now(settings.clock().withZone(ZoneOffset.UTC)).toString();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    CommandHandlerWithReplyBuilder<Command, Event, State> b = newCommandHandlerWithReplyBuilder();
    // a tenant that does not exist answers and goes away at once: made-up tenant ids must not keep entities alive
    b.forState(s -> !s.created)
        .onCommand(Create.class, this::create)
        .onCommand(Admit.class, (s, c) -> refuseAndStop(c.replyTo(), unauthenticated()))
        .onCommand(Authenticate.class, (s, c) -> refuseAndStop(c.replyTo(), unauthenticated()))
        .onCommand(Release.class, (s, c) -> stopWithoutReply())
        .onCommand(LeaseReleased.class, (s, c) -> stopWithoutReply())
        .onCommand(ExpireWaiting.class, (s, c) -> stopWithoutReply())
        .onCommand(FlushUsage.class, (s, c) -> stopWithoutReply())
        .onCommand(RecordUsage.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()))
        .onCommand(ChangePlan.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()))
        .onCommand(IssueKey.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()))
        .onCommand(RevokeKey.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()))
        .onCommand(GetSummary.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()));
    b.forState(s -> s.created)
        .onCommand(Create.class, (s, c) -> Effect().reply(c.replyTo(),
            StatusReply.error("tenant " + tenantId + " already exists")))
        .onCommand(ChangePlan.class, this::changePlan)
        .onCommand(IssueKey.class, this::issueKey)
        .onCommand(RevokeKey.class, this::revokeKey)
        .onCommand(GetSummary.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(s.summary(tenantId))))
        .onCommand(Admit.class, this::admit)
        .onCommand(Authenticate.class, (s, c) -> Effect().reply(c.replyTo(),
            c.secret() != null && s.keyMatches(c.secret()) ? new Admitted(tenantId, "") : unauthenticated()))
        .onCommand(RecordUsage.class, this::recordUsage)
        .onCommand(FlushUsage.class, this::flushUsage)
        .onCommand(Release.class, (s, c) -> {
          if (c.modelFailed()) {
            limiter.modelFailed(c.admissionId(), c.incident());
          }
          if (limiter.release(c.admissionId()) && !c.modelFailed()) {
            limiter.refundRequest();
          }
          limiter.serveWaiting(s);
          return Effect().noReply();
        })
        .onCommand(LeaseReleased.class, (s, c) -> {
          limiter.freeLease(c.admissionId());
          limiter.serveWaiting(s);
          return Effect().noReply();
        })
        .onCommand(ExpireWaiting.class, (s, c) -> {
          limiter.expireWaiting(s);
          return Effect().noReply();
        });
    return b.build();
  }

  private <R> ReplyEffect<Event, State> refuseAndStop(ActorRef<R> replyTo, R reply) {
    if (passivate != null) {
      passivate.accept(self);
      return Effect().reply(replyTo, reply);
    }
    return Effect().stop().thenReply(replyTo, st -> reply);
  }

  private ReplyEffect<Event, State> stopWithoutReply() {
    if (passivate != null) {
      passivate.accept(self);
      return Effect().noReply();
    }
    return Effect().stop().thenNoReply();
  }

  private <T> StatusReply<T> notFound() {
    return StatusReply.error("tenant " + tenantId + " does not exist");
  }

  private static Rejected unauthenticated() {
    return new Rejected(Reason.UNAUTHENTICATED, "invalid or revoked API key", 0);
  }

  private ReplyEffect<Event, State> create(State s, Create c) {
    String name = c.displayName() == null ? "" : c.displayName().strip();
    if (name.isEmpty() || name.length() > 200) {
      return Effect().reply(c.replyTo(), StatusReply.error("displayName must be 1-200 characters"));
    }
    return Effect().persist(new TenantCreated(tenantId, name, c.plan(), now()))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.summary(tenantId)));
  }

  private ReplyEffect<Event, State> changePlan(State s, ChangePlan c) {
    return Effect().persist(new PlanChanged(c.plan()))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.summary(tenantId)));
  }

  private ReplyEffect<Event, State> issueKey(State s, IssueKey c) {
    if (s.activeKeys() >= MAX_ACTIVE_KEYS) {
      return Effect().reply(c.replyTo(), StatusReply.error("tenant " + tenantId + " already has " + MAX_ACTIVE_KEYS
          + " active keys; revoke one first"));
    }
    String keyId = ApiKeys.newKeyId();
    String secret = ApiKeys.newSecret(keyId);
    byte[] salt = ApiKeys.newSalt();
    return Effect().persist(new ApiKeyIssued(keyId, salt, ApiKeys.hash(salt, secret), now()))
        .thenReply(c.replyTo(), st -> StatusReply.success(new IssuedKey(keyId, ApiKeys.format(tenantId, secret))));
  }

  private ReplyEffect<Event, State> revokeKey(State s, RevokeKey c) {
    KeyRecord k = s.keys.get(c.keyId());
    if (k == null) {
      return Effect().reply(c.replyTo(), StatusReply.error("tenant " + tenantId + " has no key " + c.keyId()));
    }
    if (k.revoked()) {
      return Effect().reply(c.replyTo(), StatusReply.success(s.summary(tenantId)));
    }
    return Effect().persist(new ApiKeyRevoked(c.keyId(), now()))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.summary(tenantId)));
  }

  private ReplyEffect<Event, State> admit(State s, Admit c) {
    if (c.deadlineEpochMillis() != 0 && settings.clock().millis() > c.deadlineEpochMillis()) {
      return Effect().noReply();
    }
    if (c.secret() == null || !s.keyMatches(c.secret())) {
      return Effect().reply(c.replyTo(), unauthenticated());
    }
    // a request id is looked up before anything runs: a retry never runs the model again, another input never
    // gets an answer under an id that was already paid for
    Recorded earlier = s.recent.get(c.requestId());
    if (earlier != null) {
      return Effect().reply(c.replyTo(), earlier.sameInput(c.fingerprint())
          ? new Replayed(tenantId, earlier.asReplay()) : reused(c.requestId()));
    }
    PendingUsage pending = unwritten.get(c.requestId());
    String inFlight = pending != null ? pending.event().inputFingerprint() : limiter.fingerprintOf(c.requestId());
    if (inFlight != null) {
      return Effect().reply(c.replyTo(), inFlight.equals(c.fingerprint())
          ? new Rejected(Reason.REQUEST_IN_PROGRESS, "request " + c.requestId() + " is being served right now; retry "
              + "with the same request id once it is answered to get its result", 200)
          : reused(c.requestId()));
    }
    Rejected rejected = limiter.check(s, c, currentMonth());
    if (rejected != null) {
      return Effect().reply(c.replyTo(), rejected);
    }
    if (!limiter.leaseAvailable(s)) {
      // at its GPU/CPU quota: wait briefly for one of the tenant's own leases to be given back
      Rejected full = limiter.enqueue(s, c);
      return full != null ? Effect().reply(c.replyTo(), full) : Effect().noReply();
    }
    return Effect().reply(c.replyTo(), new Admitted(tenantId, limiter.admit(c)));
  }

  private static Rejected reused(String requestId) {
    return new Rejected(Reason.REQUEST_ID_REUSED, "request id " + requestId + " was already used for another "
        + "input; nothing was run or billed: send each new request with a new request id", 0);
  }

  /**
   * Usage is not persisted one event per write: it joins the batch of unwritten usage, and a FlushUsage message
   * (sent when the batch starts) writes the whole batch at once. Requests that arrive while a write is in progress
   * form the next batch, so one tenant's throughput is not bounded by one write's latency. Callers get their answer
   * only after the write that holds their event succeeded.
   */
  private ReplyEffect<Event, State> recordUsage(State s, RecordUsage c) {
    limiter.release(c.admissionId());
    limiter.serveWaiting(s);
    limiter.debitTokens(c.units().tokens());
    // a replay carries the first recording's fingerprint: the gateway gives out no output whose input differs
    Recorded earlier = s.recent.get(c.requestId());
    if (earlier != null) {
      return Effect().reply(c.replyTo(), StatusReply.success(earlier.asReplay()));
    }
    PendingUsage same = unwritten.get(c.requestId());
    if (same != null) {
      // a retry of a request whose first attempt is in this batch: it gets the replay answer once written
      same.waiting().add(c.replyTo());
      return Effect().noReply();
    }
    String month = currentMonth();
    long before = s.tokensBefore(month);
    for (PendingUsage p : unwritten.values()) {
      if (p.event().month().equals(month)) {
        before += p.event().units().tokens();
      }
    }
    // the price list in force at the recording instant decides the charge, once
    long recordedAt = now();
    UsagePricer.Charge charge = pricer.charge(c.model(), c.unit(), c.unitPriceMicros(), c.units(), before, recordedAt);
    UsageRecorded e = new UsageRecorded(tenantId, c.requestId(), c.model(), c.version(), c.unit(),
        charge.unitPriceMicros(), c.units(), before, charge.chargeMicros(), c.latencyMicros(), recordedAt, month,
        c.fingerprint(), charge.priceListId());
    if (unwritten.isEmpty()) {
      self.tell(new FlushUsage());
    }
    List<ActorRef<StatusReply<Recorded>>> waiting = new ArrayList<>(1);
    waiting.add(c.replyTo());
    unwritten.put(c.requestId(), new PendingUsage(e, waiting));
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> flushUsage(State s, FlushUsage f) {
    if (unwritten.isEmpty()) {
      return Effect().noReply();
    }
    List<PendingUsage> batch = new ArrayList<>(unwritten.values());
    unwritten.clear();
    List<Event> events = new ArrayList<>(batch.size());
    batch.forEach(p -> events.add(p.event()));
    return Effect().persist(events).thenRun(st -> batch.forEach(p -> {
      Recorded recorded = st.recent.get(p.event().requestId());
      for (int i = 0; i < p.waiting().size(); i++) {
        p.waiting().get(i).tell(StatusReply.success(i == 0 ? recorded : recorded.asReplay()));
      }
    })).thenNoReply();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(TenantCreated.class, (s, e) -> {
          s.created = true;
          s.displayName = e.displayName();
          s.plan = e.plan();
          return s;
        })
        .onEvent(PlanChanged.class, (s, e) -> {
          s.plan = e.plan();
          return s;
        })
        .onEvent(ApiKeyIssued.class, (s, e) -> {
          s.keys.put(e.keyId(), new KeyRecord(e.keyId(), e.salt(), e.hash(), e.issuedAtMillis(), false));
          return s;
        })
        .onEvent(ApiKeyRevoked.class, (s, e) -> {
          KeyRecord k = s.keys.get(e.keyId());
          if (k != null) {
            s.keys.put(e.keyId(), new KeyRecord(k.keyId(), k.salt(), k.hash(), k.issuedAtMillis(), true));
          }
          return s;
        })
        .onEvent(UsageRecorded.class, (s, e) -> {
          if (!s.month.equals(e.month())) {
            s.month = e.month();
            s.monthRequests = 0;
            s.monthTokens = 0;
            s.monthSpendMicros = 0;
          }
          s.monthRequests++;
          s.monthTokens += e.units().tokens();
          s.monthSpendMicros += e.chargeMicros();
          s.recent.put(e.requestId(), new Recorded(e.requestId(), e.model(), e.version(), e.units(),
              e.chargeMicros(), false, e.inputFingerprint()));
          return s;
        })
        .build();
  }

  /**
   * In-memory rate buckets, in-flight admissions and worker-lease quota of one entity incarnation. An admission
   * holds one unit of the tenant's worker-lease quota from admission until its lease is given back (or it ends).
   */
  private final class Limiter {
    private final TokenBucket requests = new TokenBucket();
    private final TokenBucket tokens = new TokenBucket();
    private final Map<String, Long> inFlight = new HashMap<>();
    /** The request id and input fingerprint of each admission in flight, by admission id and by request id. */
    private final Map<String, String> requestOf = new HashMap<>();
    private final Map<String, String> fingerprintByRequest = new HashMap<>();
    /** Per model the tenant's requests made fail: a budget of failures a minute. */
    private final Map<String, TokenBucket> modelFailures = new HashMap<>();
    private final Map<String, String> modelOf = new HashMap<>();
    private final java.util.Set<String> leasing = new java.util.HashSet<>();
    private final java.util.ArrayDeque<Waiting> waiting = new java.util.ArrayDeque<>();

    private record Waiting(Admit admit, long deadlineNanos) {}

    boolean leaseAvailable(State s) {
      return leasing.size() < s.plan.maxWorkerLeases();
    }

    /** Queues an admission until a worker lease of this tenant is freed; a rejection when the queue is full. */
    Rejected enqueue(State s, Admit c) {
      if (waiting.size() >= s.plan.maxConcurrentRequests()) {
        return new Rejected(Reason.WORKER_LEASES, "tenant " + tenantId + " holds all " + s.plan.maxWorkerLeases()
            + " worker leases of its quota and " + waiting.size() + " requests already wait for one", 100);
      }
      if (waiting.isEmpty()) {
        timers.startTimerWithFixedDelay("lease-wait", new ExpireWaiting(), Duration.ofMillis(50));
      }
      waiting.add(new Waiting(c, System.nanoTime() + settings.leaseWait().toNanos()));
      return null;
    }

    void freeLease(String admissionId) {
      leasing.remove(admissionId);
    }

    /** Admits waiting requests while the quota allows, each checked again against the other limits. */
    void serveWaiting(State s) {
      while (!waiting.isEmpty() && leaseAvailable(s)) {
        Admit c = waiting.poll().admit();
        Rejected r = check(s, c, currentMonth());
        c.replyTo().tell(r != null ? r : new Admitted(tenantId, admit(c)));
      }
      if (waiting.isEmpty()) {
        timers.cancel("lease-wait");
      }
    }

    void expireWaiting(State s) {
      long now = System.nanoTime();
      while (!waiting.isEmpty() && waiting.peek().deadlineNanos() - now < 0) {
        waiting.poll().admit().replyTo().tell(new Rejected(Reason.WORKER_LEASES, "tenant " + tenantId
            + " holds all " + s.plan.maxWorkerLeases() + " worker leases of its quota and none was given back within "
            + settings.leaseWait().toMillis() + " ms", settings.leaseWait().toMillis()));
      }
      serveWaiting(s);
    }

    /** Checks every limit without taking anything; null when the request may go ahead. */
    Rejected check(State s, Admit c, String month) {
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
      if (s.spendIn(month) >= plan.monthlyBudgetMicros()) {
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
      return id;
    }

    boolean release(String admissionId) {
      leasing.remove(admissionId);
      forget(admissionId);
      return inFlight.remove(admissionId) != null;
    }

    private void forget(String admissionId) {
      modelOf.remove(admissionId);
      String requestId = requestOf.remove(admissionId);
      if (requestId != null) {
        fingerprintByRequest.remove(requestId);
      }
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
}
