package aimos.tenant;

import aimos.api.v1.BillingUnit;
import aimos.serialization.KryoSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.typed.javadsl.Recovery;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * One tenant: its plan, API keys and metered usage. It is the single owner of the tenant's quotas cluster-wide
 * (sharding gives it one writer), so limits are exact however many nodes serve the tenant.
 *
 * <p>Durable state ({@link TenantState}: plan, keys, the month's usage, the dedup window) comes from the newest
 * snapshot and the events after it. Rate buckets and in-flight admissions are in memory only: if the entity moves to
 * another node they start afresh, which can briefly admit up to one extra bucket of requests but never bills anything
 * twice.
 */
public final class TenantEntity
    extends EventSourcedBehaviorWithEnforcedReplies<TenantEntity.Command, TenantEntity.Event, TenantState> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Tenant");
  /** How a sealed personal value starts (see aimos.access.privacy.SealedText). */
  static final String SEALED_PREFIX = "sealed:v1:";
  /** The longest sealed form of a 200-character name (12-byte nonce, 3 bytes a character, 16-byte tag, base64). */
  static final int MAX_SEALED_NAME = 848;
  /**
   * Tenants are spread over a fixed set of usage tags, about ten per node of the largest cluster: the billing feed of
   * a tag reads its tenants' journals. Usage events themselves carry no tag (those written by versions before the
   * feed carry their tenant's).
   */
  public static final int TAG_COUNT = 10;
  public static final String TAG_PREFIX = "tenant-usage-";
  public static final List<String> TAGS =
      IntStream.range(0, TAG_COUNT).mapToObj(i -> TAG_PREFIX + i).toList();
  /**
   * How many recent request ids a tenant remembers at most (for at most {@link #DEDUP_HORIZON}): a retry of one of
   * them is answered from its recorded usage without running the model, and the same id with another input is
   * refused.
   */
  public static final int DEDUP_WINDOW = RecentRequests.MAX_IDS;
  public static final Duration DEDUP_HORIZON = RecentRequests.HORIZON;
  public static final int MAX_ACTIVE_KEYS = 20;
  public static final int MAX_SUSPEND_REASON = 500;

  /**
   * Budget-threshold crossings carry this one tag: a few per tenant and month, read by the budget-alert projection
   * (one instance is plenty for that volume).
   */
  public static final String BUDGET_ALERT_TAG = "tenant-budget-alerts";

  public static String tagFor(String tenantId) {
    return TAGS.get(tagIndexOf(tenantId));
  }

  /** The position of the tenant's tag in {@link #TAGS}. */
  public static int tagIndexOf(String tenantId) {
    return Math.floorMod(tenantId.hashCode(), TAG_COUNT);
  }

  public static String persistenceIdOf(String tenantId) {
    return PersistenceId.of(ENTITY_KEY.name(), tenantId).id();
  }

  /**
   * Runtime settings: how long an admission may stay unreleased, how long a request may wait for one of its tenant's
   * worker leases to be freed, how many of the tenant's requests may make a model fail per minute before its
   * requests are refused for a while (so that one tenant's inputs cannot get a model quarantined for everyone), the
   * clock months are read from, and how many events apart snapshots are taken (0: none taken nor read, which
   * makes recovery replay the whole journal; for measuring what snapshots save).
   */
  public record Settings(Duration admissionTimeout, Duration leaseWait, int modelFailuresPerMinute, Clock clock,
                         int snapshotEvery) {
    public Settings {
      if (snapshotEvery < 0) {
        throw new IllegalArgumentException("snapshot-every must be at least 1 (0: no snapshots), was "
            + snapshotEvery);
      }
    }

    public Settings(Duration admissionTimeout, Duration leaseWait, Clock clock) {
      this(admissionTimeout, leaseWait, DEFAULT_MODEL_FAILURES_PER_MINUTE, clock, DEFAULT_SNAPSHOT_EVERY);
    }

    public Settings withSnapshotEvery(int events) {
      return new Settings(admissionTimeout, leaseWait, modelFailuresPerMinute, clock, events);
    }

    public static Settings defaults() {
      return new Settings(Duration.ofMinutes(2), Duration.ofSeconds(2), Clock.systemUTC());
    }
  }

  /**
   * Snapshots 2,000 events apart, chosen with {@code bin/aimos bench history}: recovery then replays at most 1,999
   * events after the snapshot (tens of milliseconds here), while a snapshot (up to about 1 MB with a full dedup window)
   * is taken rarely enough that a busy tenant's write throughput stays within a few percent of none; every 1,000
   * events cost it about 10-15%, every 5,000 made the longest recovery about three times as long.
   */
  public static final int DEFAULT_SNAPSHOT_EVERY = 2000;
  public static final int SNAPSHOTS_KEPT = 2;

  /** Below the sandboxes' quarantine threshold (3 failures a minute), so one tenant alone cannot reach it. */
  public static final int DEFAULT_MODEL_FAILURES_PER_MINUTE = 2;

  // ---- commands ----

  public sealed interface Command extends KryoSerializable {}

  public record Create(String displayName, Plan plan, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  public record ChangePlan(Plan plan, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  /** Issues a key of {@code scope} ({@link KeyScope#label()}; "" from nodes before scopes: inference). */
  public record IssueKey(String scope, ActorRef<StatusReply<IssuedKey>> replyTo) implements Command {
    public IssueKey(ActorRef<StatusReply<IssuedKey>> replyTo) {
      this(KeyScope.INFERENCE.label(), replyTo);
    }
  }

  public record RevokeKey(String keyId, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  public record GetSummary(ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  /**
   * Suspends the tenant: every request of its keys is refused at admission ({@link Reason#TENANT_SUSPENDED}),
   * nothing runs or is billed; keys, plan and usage stay. {@code reason} (at most {@link #MAX_SUSPEND_REASON}
   * characters, may be empty) is shown to the operator and in the refusals. Suspending a suspended tenant changes
   * nothing.
   */
  public record Suspend(String reason, ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  /** Resumes a suspended tenant: its keys admit requests again. Resuming an active tenant changes nothing. */
  public record Resume(ActorRef<StatusReply<Summary>> replyTo) implements Command {}

  /** Sets the budget-alert thresholds: 1-10 percentages of the monthly budget, each 1-100, ascending. */
  public record SetBudgetAlerts(List<Integer> percents, ActorRef<StatusReply<BudgetAlertStatus>> replyTo)
      implements Command {}

  public record GetBudgetAlerts(ActorRef<StatusReply<BudgetAlertStatus>> replyTo) implements Command {}

  /**
   * Authenticates the key's secret, looks the request id up and checks every limit; on success the request holds a
   * concurrency slot. {@code fingerprint} identifies the request's input (model, version, input): a request id that
   * was already answered for the same fingerprint is {@link Replayed} without running anything, one answered or in
   * flight for another input is refused. {@code deadlineEpochMillis} is when the asker stops waiting (0: never); an
   * Admit that arrives later (held in a shard's buffer while the tenant moved to another node, say) is dropped, since
   * nobody would release its slot. {@code attempt} names one gateway's handling of one call ("": none): the gateway
   * asks again under the same attempt when an answer does not come (the tenant's node died and the shard moved),
   * and an attempt that already holds an admission gets that admission again instead of a refusal as in progress.
   */
  public record Admit(String secret, String requestId, String fingerprint, String model, long estimatedTokens,
                      long deadlineEpochMillis, ActorRef<Admission> replyTo, String attempt) implements Command {
    public Admit(String secret, String requestId, String fingerprint, String model, long estimatedTokens,
                 long deadlineEpochMillis, ActorRef<Admission> replyTo) {
      this(secret, requestId, fingerprint, model, estimatedTokens, deadlineEpochMillis, replyTo, "");
    }

    public Admit(String secret, String requestId, long estimatedTokens, ActorRef<Admission> replyTo) {
      this(secret, requestId, "", "", estimatedTokens, 0, replyTo);
    }

    public Admit(String secret, String requestId, long estimatedTokens, long deadlineEpochMillis,
                 ActorRef<Admission> replyTo) {
      this(secret, requestId, "", "", estimatedTokens, deadlineEpochMillis, replyTo);
    }

    /** The same ask sent again by the same attempt, with a new reply address. */
    public Admit askedAgain(ActorRef<Admission> to) {
      return new Admit(secret, requestId, fingerprint, model, estimatedTokens, deadlineEpochMillis, to, attempt);
    }

    @Override
    public String toString() {
      return "Admit[requestId=" + requestId + ", fingerprint=" + fingerprint + ", model=" + model + ", attempt="
          + attempt + ", secret=***]";
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
  record ExpireWaiting() implements Command {}

  /** Checks a key's secret without touching any limit: for calls that are not metered. */
  public record Authenticate(String secret, ActorRef<Admission> replyTo) implements Command {
    @Override
    public String toString() {
      return "Authenticate[secret=***]";
    }
  }

  /** Checks a tenant-admin key's secret: for the tenant's own management of its keys and webhooks. */
  public record AuthenticateTenantAdmin(String secret, ActorRef<Admission> replyTo) implements Command {
    @Override
    public String toString() {
      return "AuthenticateTenantAdmin[secret=***]";
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
    MODEL_FAILURES,
    /** The tenant is suspended by an operator: nothing is admitted until it is resumed. */
    TENANT_SUSPENDED
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

  /** {@code scope} is {@link KeyScope#label()} ("" from nodes before scopes: inference). */
  public record KeyInfo(String keyId, long issuedAtMillis, boolean revoked, String scope) implements KryoSerializable {}

  /**
   * The tenant's budget-alert thresholds ({@code defaults}: none were set, the defaults apply) and those its spend
   * crossed in {@code month}.
   */
  public record BudgetAlertStatus(String tenantId, List<Integer> percents, boolean defaults, String month,
                                  List<Integer> crossed, long budgetMicros, long spendMicros)
      implements KryoSerializable {}

  /**
   * {@code suspended}, {@code suspendReason} and {@code suspendedAtMillis} say whether an operator suspended the
   * tenant, why and when (false, "" and 0 from nodes before suspension).
   */
  public record Summary(String tenantId, String displayName, Plan plan, List<KeyInfo> keys, String month,
                        long monthRequests, long monthTokens, long monthSpendMicros, boolean suspended,
                        String suspendReason, long suspendedAtMillis) implements KryoSerializable {
    public Summary(String tenantId, String displayName, Plan plan, List<KeyInfo> keys, String month,
                   long monthRequests, long monthTokens, long monthSpendMicros) {
      this(tenantId, displayName, plan, keys, month, monthRequests, monthTokens, monthSpendMicros, false, "", 0);
    }

    /** The same summary showing {@code name}: the display name opened from its stored (sealed) form. */
    public Summary withDisplayName(String name) {
      return new Summary(tenantId, name, plan, keys, month, monthRequests, monthTokens, monthSpendMicros, suspended,
          suspendReason, suspendedAtMillis);
    }

    /** "suspended" or "active". */
    public String status() {
      return suspended ? "suspended" : "active";
    }
  }

  // ---- events ----

  public sealed interface Event {}

  public record TenantCreated(String tenantId, String displayName, Plan plan, long createdAtMillis) implements Event {}

  public record PlanChanged(Plan plan) implements Event {}

  /** {@code scope} is {@link KeyScope#label()}; "" in events written before scopes (inference). */
  public record ApiKeyIssued(String keyId, byte[] salt, byte[] hash, long issuedAtMillis, String scope)
      implements Event {}

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

  /**
   * The month's spend reached {@code percent} % of the budget, by the charge of {@code requestId}; persisted in the
   * same write as that usage, once per tenant, month and threshold.
   */
  public record BudgetThresholdCrossed(String tenantId, String month, int percent, long budgetMicros,
                                       long spendMicros, long crossedAtMillis, String requestId) implements Event {}

  /** New budget-alert thresholds; empty: the defaults. */
  public record BudgetAlertsSet(List<Integer> percents) implements Event {}

  /** An operator suspended the tenant ({@code reason} may be empty). */
  public record TenantSuspended(String reason, long suspendedAtMillis) implements Event {}

  /** An operator resumed the suspended tenant. */
  public record TenantResumed(long resumedAtMillis) implements Event {}

  // ---- behaviour ----

  public static void init(ActorSystem<?> system, Settings settings, UsagePricer pricer, UsageNotices notices) {
    java.util.function.Predicate<org.apache.pekko.actor.Address> departed = departedFrom(
        org.apache.pekko.cluster.typed.Cluster.get(system));
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx ->
        create(ctx.getEntityId(), settings, pricer, self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self)),
            departed, notices)));
  }

  /**
   * Whether the node at an address can no longer answer for what it asked: not a member that is up (or joining,
   * leaving), or unreachable. A local address is this node's own.
   */
  public static java.util.function.Predicate<org.apache.pekko.actor.Address> departedFrom(
      org.apache.pekko.cluster.typed.Cluster cluster) {
    return address -> {
      if (address.hasLocalScope() || address.equals(cluster.selfMember().address())) {
        return false;
      }
      var state = cluster.state();
      for (org.apache.pekko.cluster.Member m : state.getUnreachable()) {
        if (m.address().equals(address)) {
          return true;
        }
      }
      for (org.apache.pekko.cluster.Member m : state.getMembers()) {
        if (m.address().equals(address)) {
          var status = m.status();
          return status != org.apache.pekko.cluster.MemberStatus.up()
              && status != org.apache.pekko.cluster.MemberStatus.weaklyUp()
              && status != org.apache.pekko.cluster.MemberStatus.joining()
              && status != org.apache.pekko.cluster.MemberStatus.leaving();
        }
      }
      return true;
    };
  }

  /** An entity outside sharding: one for a tenant that does not exist stops after its first answer. */
  public static Behavior<Command> create(String tenantId, Settings settings, UsagePricer pricer) {
    return create(tenantId, settings, pricer, null, address -> false, UsageNotices.NONE);
  }

  /** As above, telling {@code notices} when it has written usage. */
  public static Behavior<Command> create(String tenantId, Settings settings, UsagePricer pricer,
                                         UsageNotices notices) {
    return create(tenantId, settings, pricer, null, address -> false, notices);
  }

  /** As above, with what says that the node an admission came from is gone (tests). */
  static Behavior<Command> create(String tenantId, Settings settings, UsagePricer pricer,
                                  java.util.function.Predicate<org.apache.pekko.actor.Address> departed) {
    return create(tenantId, settings, pricer, null, departed, UsageNotices.NONE);
  }

  private static Behavior<Command> create(String tenantId, Settings settings, UsagePricer pricer,
                                          java.util.function.Consumer<ActorRef<Command>> passivate,
                                          java.util.function.Predicate<org.apache.pekko.actor.Address> departed,
                                          UsageNotices notices) {
    return Behaviors.withTimers(timers ->
        Behaviors.setup(ctx -> new TenantEntity(tenantId, settings, pricer, ctx.getSelf(), timers, passivate,
            departed, notices)));
  }

  private final String tenantId;
  private final Settings settings;
  private final UsagePricer pricer;
  private final AdmissionLimiter limiter;
  private final ActorRef<Command> self;
  private final TimerScheduler<Command> timers;
  /** Asks sharding to stop this entity; null outside sharding, where it stops by itself. */
  private final java.util.function.Consumer<ActorRef<Command>> passivate;
  private final UsageBatch unwritten = new UsageBatch();
  private final UsageNotices notices;
  /** When the last notice was given (the settings' clock), or Long.MIN_VALUE before the first. */
  private long lastNoticeMillis = Long.MIN_VALUE;

  private TenantEntity(String tenantId, Settings settings, UsagePricer pricer, ActorRef<Command> self,
                       TimerScheduler<Command> timers, java.util.function.Consumer<ActorRef<Command>> passivate,
                       java.util.function.Predicate<org.apache.pekko.actor.Address> departed,
                       UsageNotices notices) {
    super(PersistenceId.of(ENTITY_KEY.name(), tenantId),
        org.apache.pekko.actor.typed.SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200),
            Duration.ofSeconds(5), 0.2));
    this.tenantId = tenantId;
    this.settings = settings;
    this.pricer = pricer;
    this.self = self;
    this.timers = timers;
    this.passivate = passivate;
    this.departed = departed;
    this.notices = notices;
    this.limiter = new AdmissionLimiter(tenantId, settings, timers);
  }

  /** Tells the billing feed about written usage, at most once per {@link UsageNotices#GAP}. */
  private void announceUsage() {
    long now = now();
    // a clock set back counts as the gap passed: a notice too many costs one read, one too few a late usage
    if (lastNoticeMillis == Long.MIN_VALUE || now - lastNoticeMillis >= UsageNotices.GAP.toMillis()
        || now < lastNoticeMillis) {
      lastNoticeMillis = now;
      notices.usageWritten(tenantId);
    }
  }

  @Override
  public org.apache.pekko.persistence.typed.javadsl.SignalHandler<TenantState> signalHandler() {
    // a tenant that starts (after a move, a crash, a passivation) may hold usage its last node wrote but never
    // announced: announce it once, so that the feed reads it now rather than at its next sweep
    return newSignalHandlerBuilder()
        .onSignal(org.apache.pekko.persistence.typed.RecoveryCompleted.instance(), s -> {
          if (s.created) {
            announceUsage();
          }
        })
        .build();
  }

  /** Whether the node at an address is gone: its admissions will never be released by it. */
  private final java.util.function.Predicate<org.apache.pekko.actor.Address> departed;

  @Override
  public TenantState emptyState() {
    return new TenantState();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return settings.snapshotEvery() == 0 ? RetentionCriteria.disabled()
        : RetentionCriteria.snapshotEvery(settings.snapshotEvery(), SNAPSHOTS_KEPT);
  }

  @Override
  public Recovery recovery() {
    return settings.snapshotEvery() == 0 ? Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none())
        : super.recovery();
  }

  @Override
  public SnapshotAdapter<TenantState> snapshotAdapter() {
    return TenantSnapshots.INSTANCE;
  }

  @Override
  public Set<String> tagsFor(Event event) {
    // usage is read by the billing feed from the tenant's own journal, so it needs no copy in the tag table (that
    // copy is written before the persist completes: it was on every request's path)
    return event instanceof BudgetThresholdCrossed ? Set.of(BUDGET_ALERT_TAG) : Set.of();
  }

  private long now() {
    return settings.clock().millis();
  }

  private String currentMonth() {
    return limiter.currentMonth();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, TenantState> commandHandler() {
    CommandHandlerWithReplyBuilder<Command, Event, TenantState> b = newCommandHandlerWithReplyBuilder();
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
        .onCommand(GetSummary.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()))
        .onCommand(Suspend.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()))
        .onCommand(Resume.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()))
        .onCommand(SetBudgetAlerts.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()))
        .onCommand(GetBudgetAlerts.class, (s, c) -> refuseAndStop(c.replyTo(), notFound()));
    b.forState(s -> s.created)
        .onCommand(Create.class, (s, c) -> Effect().reply(c.replyTo(),
            StatusReply.error("tenant " + tenantId + " already exists")))
        .onCommand(ChangePlan.class, this::changePlan)
        .onCommand(IssueKey.class, this::issueKey)
        .onCommand(RevokeKey.class, this::revokeKey)
        .onCommand(GetSummary.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(s.summary(tenantId))))
        .onCommand(Suspend.class, this::suspend)
        .onCommand(Resume.class, (s, c) -> !s.suspended
            ? Effect().reply(c.replyTo(), StatusReply.success(s.summary(tenantId)))
            : Effect().persist(new TenantResumed(now()))
                .thenReply(c.replyTo(), st -> StatusReply.success(st.summary(tenantId))))
        .onCommand(SetBudgetAlerts.class, this::setBudgetAlerts)
        .onCommand(GetBudgetAlerts.class, (s, c) -> Effect().reply(c.replyTo(),
            StatusReply.success(s.budgetAlerts(tenantId, currentMonth()))))
        .onCommand(Admit.class, this::admit)
        .onCommand(Authenticate.class, (s, c) -> Effect().reply(c.replyTo(),
            c.secret() != null && s.keys.matches(c.secret(), KeyScope.INFERENCE)
                ? new Admitted(tenantId, "") : unauthenticated()))
        .onCommand(AuthenticateTenantAdmin.class, (s, c) -> Effect().reply(c.replyTo(),
            c.secret() != null && s.keys.matches(c.secret(), KeyScope.TENANT_ADMIN)
                ? new Admitted(tenantId, "") : unauthenticated()))
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

  private <R> ReplyEffect<Event, TenantState> refuseAndStop(ActorRef<R> replyTo, R reply) {
    if (passivate != null) {
      passivate.accept(self);
      return Effect().reply(replyTo, reply);
    }
    return Effect().stop().thenReply(replyTo, st -> reply);
  }

  private ReplyEffect<Event, TenantState> stopWithoutReply() {
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

  private ReplyEffect<Event, TenantState> create(TenantState s, Create c) {
    String name = c.displayName() == null ? "" : c.displayName().strip();
    // the admin API seals the name (1-200 characters) with the tenant's data key before it gets here
    int max = name.startsWith(SEALED_PREFIX) ? MAX_SEALED_NAME : 200;
    if (name.isEmpty() || name.length() > max) {
      return Effect().reply(c.replyTo(), StatusReply.error("displayName must be 1-200 characters"));
    }
    return Effect().persist(new TenantCreated(tenantId, name, c.plan(), now()))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.summary(tenantId)));
  }

  private ReplyEffect<Event, TenantState> suspend(TenantState s, Suspend c) {
    String reason = c.reason() == null ? "" : c.reason().strip();
    if (reason.length() > MAX_SUSPEND_REASON || reason.chars().anyMatch(Character::isISOControl)) {
      return Effect().reply(c.replyTo(), StatusReply.error("reason must be at most " + MAX_SUSPEND_REASON
          + " characters without control characters"));
    }
    if (s.suspended) {
      // suspending again keeps the first suspension (its time and reason): the call is safe to retry
      return Effect().reply(c.replyTo(), StatusReply.success(s.summary(tenantId)));
    }
    return Effect().persist(new TenantSuspended(reason, now()))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.summary(tenantId)));
  }

  private Rejected suspended(TenantState s) {
    return new Rejected(Reason.TENANT_SUSPENDED, "tenant " + tenantId + " is suspended"
        + (s.suspendReason.isEmpty() ? "" : " (" + s.suspendReason + ")")
        + "; its requests are refused and nothing is billed until it is resumed: contact the operator", 0);
  }

  private ReplyEffect<Event, TenantState> changePlan(TenantState s, ChangePlan c) {
    return Effect().persist(new PlanChanged(c.plan()))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.summary(tenantId)));
  }

  private ReplyEffect<Event, TenantState> setBudgetAlerts(TenantState s, SetBudgetAlerts c) {
    List<Integer> percents;
    try {
      percents = BudgetAlerts.validate(c.percents());
    } catch (IllegalArgumentException e) {
      return Effect().reply(c.replyTo(), StatusReply.error(e.getMessage()));
    }
    if (percents.equals(s.alerts.percents)) {
      return Effect().reply(c.replyTo(), StatusReply.success(s.budgetAlerts(tenantId, currentMonth())));
    }
    return Effect().persist(new BudgetAlertsSet(percents))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.budgetAlerts(tenantId, currentMonth())));
  }

  private ReplyEffect<Event, TenantState> issueKey(TenantState s, IssueKey c) {
    KeyScope scope;
    try {
      scope = KeyScope.ofLabel(c.scope());
    } catch (IllegalArgumentException e) {
      return Effect().reply(c.replyTo(), StatusReply.error(e.getMessage()));
    }
    if (s.keys.active() >= MAX_ACTIVE_KEYS) {
      return Effect().reply(c.replyTo(), StatusReply.error("tenant " + tenantId + " already has " + MAX_ACTIVE_KEYS
          + " active keys; revoke one first"));
    }
    String keyId = ApiKeys.newKeyId();
    String secret = ApiKeys.newSecret(keyId);
    byte[] salt = ApiKeys.newSalt();
    return Effect().persist(new ApiKeyIssued(keyId, salt, ApiKeys.hash(salt, secret), now(), scope.stored()))
        .thenReply(c.replyTo(), st -> StatusReply.success(new IssuedKey(keyId, ApiKeys.format(tenantId, secret))));
  }

  private ReplyEffect<Event, TenantState> revokeKey(TenantState s, RevokeKey c) {
    KeyRing.Key k = s.keys.get(c.keyId());
    if (k == null) {
      return Effect().reply(c.replyTo(), StatusReply.error("tenant " + tenantId + " has no key " + c.keyId()));
    }
    if (k.revoked()) {
      return Effect().reply(c.replyTo(), StatusReply.success(s.summary(tenantId)));
    }
    return Effect().persist(new ApiKeyRevoked(c.keyId(), now()))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.summary(tenantId)));
  }

  private ReplyEffect<Event, TenantState> admit(TenantState s, Admit c) {
    if (c.deadlineEpochMillis() != 0 && settings.clock().millis() > c.deadlineEpochMillis()) {
      return Effect().noReply();
    }
    if (c.secret() == null || !s.keys.matches(c.secret(), KeyScope.INFERENCE)) {
      return Effect().reply(c.replyTo(), unauthenticated());
    }
    if (s.suspended) {
      return Effect().reply(c.replyTo(), suspended(s));
    }
    // a request id is looked up before anything runs: a retry never runs the model again, another input never
    // gets an answer under an id that was already paid for
    Recorded earlier = s.recent.get(c.requestId(), now());
    if (earlier != null) {
      return Effect().reply(c.replyTo(), earlier.sameInput(c.fingerprint())
          ? new Replayed(tenantId, earlier.asReplay()) : reused(c.requestId()));
    }
    if (!c.attempt().isEmpty()) {
      String same = limiter.admissionOfAttempt(c);
      if (same != null) {
        return Effect().reply(c.replyTo(), new Admitted(tenantId, same));
      }
      if (limiter.askedAgainWhileWaiting(c)) {
        return Effect().noReply();
      }
    }
    UsageBatch.Pending pending = unwritten.get(c.requestId());
    String inFlight = pending != null ? pending.event().inputFingerprint() : limiter.fingerprintOf(c.requestId());
    if (inFlight != null && pending == null && inFlight.equals(c.fingerprint()) && takeOverFromDepartedNode(c)) {
      inFlight = null;
    }
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

  /**
   * A retry of a request whose admission is held for a node that is gone (killed, cut off, left) takes it over: that
   * node will never release it, and its client's retries would be refused as in progress until the admission timed
   * out. Billing stays exact: should the old node still record the request, the request id is recorded once. Only
   * a retry of a request in flight gets here, so admissions in general pay nothing for it.
   */
  private boolean takeOverFromDepartedNode(Admit c) {
    var held = limiter.admissionOf(c.requestId());
    if (held == null || held.getValue() == null || !departed.test(held.getValue())) {
      return false;
    }
    limiter.release(held.getKey());
    return true;
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
  private ReplyEffect<Event, TenantState> recordUsage(TenantState s, RecordUsage c) {
    limiter.release(c.admissionId());
    limiter.serveWaiting(s);
    // a replay carries the first recording's fingerprint: the gateway gives out no output whose input differs
    Recorded earlier = s.recent.get(c.requestId(), now());
    if (earlier != null) {
      return Effect().reply(c.replyTo(), StatusReply.success(earlier.asReplay()));
    }
    UsageBatch.Pending same = unwritten.get(c.requestId());
    if (same != null) {
      // a retry of a request whose first attempt is in this batch: it gets the replay answer once written
      same.waiting().add(c.replyTo());
      return Effect().noReply();
    }
    // once per request id: the gateway asks again when an answer is slow, and that must not count twice
    limiter.debitTokens(c.units().tokens());
    String month = currentMonth();
    long before = s.month.tokensBefore(month) + unwritten.tokensIn(month);
    // the price list in force at the recording instant decides the charge, once
    long recordedAt = now();
    UsagePricer.Charge charge = pricer.charge(c.model(), c.unit(), c.unitPriceMicros(), c.units(), before, recordedAt);
    UsageRecorded e = new UsageRecorded(tenantId, c.requestId(), c.model(), c.version(), c.unit(),
        charge.unitPriceMicros(), c.units(), before, charge.chargeMicros(), c.latencyMicros(), recordedAt, month,
        c.fingerprint(), charge.priceListId());
    if (unwritten.isEmpty()) {
      self.tell(new FlushUsage());
    }
    unwritten.add(e, c.replyTo());
    return Effect().noReply();
  }

  private ReplyEffect<Event, TenantState> flushUsage(TenantState s, FlushUsage f) {
    if (unwritten.isEmpty()) {
      return Effect().noReply();
    }
    List<UsageBatch.Pending> batch = unwritten.drain();
    List<UsageRecorded> usage = new ArrayList<>(batch.size());
    batch.forEach(p -> usage.add(p.event()));
    // thresholds the batch crosses are written with it, in the same (atomic) journal write
    List<Event> events = s.alerts.withCrossings(s.month, s.plan, usage);
    return Effect().persist(events).thenRun(st -> {
      batch.forEach(p -> {
        Recorded recorded = st.recent.recorded(p.event().requestId());
        for (int i = 0; i < p.waiting().size(); i++) {
          p.waiting().get(i).tell(StatusReply.success(i == 0 ? recorded : recorded.asReplay()));
        }
      });
      announceUsage();
    }).thenNoReply();
  }

  @Override
  public EventHandler<TenantState, Event> eventHandler() {
    return (state, event) -> state.apply(event);
  }
}
