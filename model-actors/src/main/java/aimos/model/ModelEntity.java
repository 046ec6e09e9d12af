package aimos.model;

import aimos.api.v1.BillingUnit;
import aimos.model.runtime.ModelRuntimes;
import aimos.model.sandbox.Worker;
import aimos.model.sandbox.WorkerHost;
import aimos.serialization.KryoSerializable;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.typed.javadsl.Recovery;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One model: its immutable versions (durable, from events) and the workers serving them with their leases (in
 * memory: workers re-register by heartbeat, so a moved entity rebuilds them within one heartbeat interval).
 *
 * <p>A lease is a slot on a worker with a TTL. When no slot is free, the request waits in a short queue, bounded in
 * length and time, and is then refused as unavailable.
 */
public final class ModelEntity
    extends EventSourcedBehaviorWithEnforcedReplies<ModelEntity.Command, ModelEntity.Event, ModelState> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Model");
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
  private static final Pattern VERSION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,31}");

  public static boolean isValidName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  public static String nameRule() {
    return "1-63 characters of lower-case letters, digits, '.', '_' and '-', starting with a letter or digit";
  }

  /** Model events are rare (a registration, a version now and then): a snapshot every 100 keeps recovery short. */
  public static final int SNAPSHOT_EVERY = 100;

  /** {@code snapshotEvery}: events between snapshots; 0 takes and reads none (for rolling upgrades). */
  public record Settings(Duration leaseTtl, Duration queueTimeout, int queueLimit, Duration heartbeatTimeout,
                         Duration tick, int snapshotEvery) {
    public Settings {
      if (snapshotEvery < 0) {
        throw new IllegalArgumentException("snapshot-every must be at least 1 (0: no snapshots), was "
            + snapshotEvery);
      }
    }

    public Settings(Duration leaseTtl, Duration queueTimeout, int queueLimit, Duration heartbeatTimeout,
                    Duration tick) {
      this(leaseTtl, queueTimeout, queueLimit, heartbeatTimeout, tick, SNAPSHOT_EVERY);
    }

    public static Settings defaults() {
      return new Settings(Duration.ofSeconds(60), Duration.ofSeconds(5), 256, Duration.ofSeconds(6),
          Duration.ofMillis(250));
    }
  }

  // ---- commands ----

  public sealed interface Command extends KryoSerializable {}

  public record Register(String description, ActorRef<StatusReply<ModelView>> replyTo) implements Command {}

  public record AddVersion(String version, String runtime, BillingUnit unit, long unitPriceMicros, int replicas,
                           int deviceMemoryMb, String fallback, ActorRef<StatusReply<ModelView>> replyTo)
      implements Command {
    public AddVersion(String version, String runtime, BillingUnit unit, long unitPriceMicros, int replicas,
                      int deviceMemoryMb, ActorRef<StatusReply<ModelView>> replyTo) {
      this(version, runtime, unit, unitPriceMicros, replicas, deviceMemoryMb, "", replyTo);
    }
  }

  public record Get(ActorRef<StatusReply<ModelView>> replyTo) implements Command {}

  /**
   * Retires a version: new leases of it are refused (naming the version to use instead), leases it holds run to their
   * end, then its sandboxes are stopped. It stays in the model's view, listed as retired. Retiring a retired version
   * changes nothing; retiring is final (register a new version to serve again).
   */
  public record RetireVersion(String version, ActorRef<StatusReply<ModelView>> replyTo) implements Command {}

  /** A worker announces itself; repeated as its heartbeat. */
  public record RegisterWorker(String workerId, String version, ActorRef<Worker.Command> worker, int slots,
                               String node) implements Command {}

  public record WorkerDown(String workerId) implements Command {}

  /**
   * Asks for a slot on a worker of the version (empty: the default version). {@code holder} names who will hold the
   * lease (the gateway uses the tenant and admission; "": nobody in particular): asked again by the same holder, when
   * an answer was lost on the way (this model's node died and it moved), the entity answers with the lease that
   * holder already has, or lets the new ask take the waiting one's place, instead of granting a second slot.
   * {@code deadlineEpochMillis} is when the asker stops waiting (0: never): a request still waiting then is dropped,
   * never granted a slot nobody would use or give back.
   */
  public record AcquireLease(String version, String tenantId, ActorRef<LeaseResult> replyTo, String holder,
                             long deadlineEpochMillis) implements Command {
    public AcquireLease(String version, String tenantId, ActorRef<LeaseResult> replyTo) {
      this(version, tenantId, replyTo, "", 0);
    }

    public AcquireLease(String version, String tenantId, ActorRef<LeaseResult> replyTo, String holder) {
      this(version, tenantId, replyTo, holder, 0);
    }

    /** The same ask sent again by the same holder, with a new reply address. */
    public AcquireLease askedAgain(ActorRef<LeaseResult> to) {
      return new AcquireLease(version, tenantId, to, holder, deadlineEpochMillis);
    }

    boolean askerGaveUp(long nowMillis) {
      return deadlineEpochMillis != 0 && nowMillis > deadlineEpochMillis;
    }
  }

  public record ReleaseLease(String leaseId) implements Command {}

  /** Extends a lease by another TTL: a long request keeps its slot while it runs. */
  public record RenewLease(String leaseId) implements Command {}

  public record GetLeases(ActorRef<LeaseReport> replyTo) implements Command {}

  private record Tick() implements Command {}

  private record HostsChanged(Set<ActorRef<WorkerHost.Command>> hosts) implements Command {}

  record HostingAnswered(String version, ActorRef<WorkerHost.Command> host, WorkerHost.HostingReply reply)
      implements Command {}

  // ---- replies ----

  /**
   * An immutable version: its runtime, price, how many nodes host it, the device memory each replica needs, and the
   * model (optionally {@code model@version}) that serves a request this version fails to answer ("" for none).
   */
  public record VersionInfo(String version, String runtime, BillingUnit unit, long unitPriceMicros, int replicas,
                            int deviceMemoryMb, long registeredAtMillis, String fallback) implements KryoSerializable {
    public VersionInfo(String version, String runtime, BillingUnit unit, long unitPriceMicros, int replicas,
                       int deviceMemoryMb, long registeredAtMillis) {
      this(version, runtime, unit, unitPriceMicros, replicas, deviceMemoryMb, registeredAtMillis, "");
    }
  }

  /**
   * {@code versions} in registration order, retired ones included; {@code retiredVersions} names those retired (empty
   * from nodes before retirement); {@code defaultVersion} is the newest version not retired ("" when all are).
   */
  public record ModelView(String name, String description, List<VersionInfo> versions, String defaultVersion,
                          int liveWorkers, List<String> retiredVersions) implements KryoSerializable {
    public ModelView(String name, String description, List<VersionInfo> versions, String defaultVersion,
                     int liveWorkers) {
      this(name, description, versions, defaultVersion, liveWorkers, List.of());
    }

    public ModelView {
      retiredVersions = retiredVersions == null ? List.of() : retiredVersions;
    }
  }

  public sealed interface LeaseResult extends KryoSerializable {}

  public record Granted(String leaseId, String workerId, ActorRef<Worker.Command> worker, VersionInfo version)
      implements LeaseResult {}

  public record NoSuchVersion(String message) implements LeaseResult {}

  public record NoCapacity(String message) implements LeaseResult {}

  /**
   * Workers, leases and waiting requests; leases held per worker and per tenant now, and the most each tenant held
   * at once.
   */
  public record LeaseReport(String model, int workers, int activeLeases, int queued, Map<String, Integer> leasesByWorker,
                            Map<String, Integer> leasesByTenant, Map<String, Integer> peakLeasesByTenant)
      implements KryoSerializable {}

  // ---- events ----

  public sealed interface Event {}

  public record ModelRegistered(String name, String description, long registeredAtMillis) implements Event {}

  public record VersionRegistered(VersionInfo info) implements Event {}

  public record VersionRetired(String version, long retiredAtMillis) implements Event {}

  // ---- behaviour ----

  public static void init(ActorSystem<?> system, Settings settings) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), settings,
        self -> ctx.getShard().tell(new ClusterSharding.Passivate<>(self)))));
  }

  /** An entity outside sharding: one for a model that is not registered stops after its first answer. */
  public static Behavior<Command> create(String name, Settings settings) {
    return create(name, settings, null);
  }

  private static Behavior<Command> create(String name, Settings settings,
                                          java.util.function.Consumer<ActorRef<Command>> passivate) {
    return Behaviors.withTimers(timers -> Behaviors.setup(ctx ->
        new ModelEntity(name, settings, ctx, timers, passivate)));
  }

  private final String name;
  private final Settings settings;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final WorkerRegistry workers = new WorkerRegistry();
  private final LeaseTable leases = new LeaseTable();
  private final ArrayDeque<Waiting> queue = new ArrayDeque<>();
  /** The waiting requests that named their holder, by holder. */
  private final Map<String, Waiting> waitingByHolder = new HashMap<>();
  private final Placement placement;

  private static final class Waiting {
    private AcquireLease request;
    private final long deadlineNanos;

    private Waiting(AcquireLease request, long deadlineNanos) {
      this.request = request;
      this.deadlineNanos = deadlineNanos;
    }

    AcquireLease request() {
      return request;
    }

    long deadlineNanos() {
      return deadlineNanos;
    }
  }

  private ModelEntity(String name, Settings settings, ActorContext<Command> ctx, TimerScheduler<Command> timers,
                      java.util.function.Consumer<ActorRef<Command>> passivate) {
    super(PersistenceId.of(ENTITY_KEY.name(), name));
    this.name = name;
    this.settings = settings;
    this.ctx = ctx;
    this.timers = timers;
    this.passivate = passivate;
    this.placement = new Placement(name, ctx);
  }

  /** Asks sharding to stop this entity; null outside sharding, where it stops by itself. */
  private final java.util.function.Consumer<ActorRef<Command>> passivate;

  @Override
  public ModelState emptyState() {
    return new ModelState();
  }

  @Override
  public SignalHandler<ModelState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), state -> {
      if (state.registered) {
        startServing();
      }
    }).build();
  }

  /** Lease expiry ticks and the worker hosts' listing, for a registered model only. */
  private void startServing() {
    timers.startTimerWithFixedDelay(new Tick(), settings.tick());
    ActorRef<Receptionist.Listing> adapter = ctx.messageAdapter(Receptionist.Listing.class,
        l -> new HostsChanged(l.getServiceInstances(WorkerHost.SERVICE_KEY)));
    ctx.getSystem().receptionist().tell(Receptionist.subscribe(WorkerHost.SERVICE_KEY, adapter));
  }

  /** A model that is not registered answers and goes away at once: made-up names must not keep entities alive. */
  private <R> ReplyEffect<Event, ModelState> refuseAndStop(ActorRef<R> replyTo, R reply) {
    if (passivate != null) {
      passivate.accept(ctx.getSelf());
      return Effect().reply(replyTo, reply);
    }
    return Effect().stop().thenReply(replyTo, st -> reply);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, ModelState> commandHandler() {
    CommandHandlerWithReplyBuilder<Command, Event, ModelState> b = newCommandHandlerWithReplyBuilder();
    b.forState(s -> !s.registered)
        .onCommand(Register.class, this::register)
        .onCommand(AddVersion.class, (s, c) -> refuseAndStop(c.replyTo(), unknownModel()))
        .onCommand(Get.class, (s, c) -> refuseAndStop(c.replyTo(), unknownModel()))
        .onCommand(RetireVersion.class, (s, c) -> refuseAndStop(c.replyTo(), unknownModel()))
        .onCommand(AcquireLease.class, (s, c) -> refuseAndStop(c.replyTo(),
            new NoSuchVersion("model " + name + " does not exist")));
    b.forState(s -> s.registered)
        .onCommand(Register.class, (s, c) -> Effect().reply(c.replyTo(),
            StatusReply.error("model " + name + " already exists")))
        .onCommand(AddVersion.class, this::addVersion)
        .onCommand(RetireVersion.class, this::retire)
        .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(s.view(name, workers.size()))))
        .onCommand(AcquireLease.class, this::acquire);
    b.forAnyState()
        .onCommand(RegisterWorker.class, (s, c) -> {
          registerWorker(s, c);
          return Effect().noReply();
        })
        .onCommand(WorkerDown.class, (s, c) -> {
          dropWorker(c.workerId());
          return Effect().noReply();
        })
        .onCommand(ReleaseLease.class, (s, c) -> {
          leases.release(c.leaseId());
          serveQueue(s);
          return Effect().noReply();
        })
        .onCommand(RenewLease.class, (s, c) -> {
          leases.renew(c.leaseId(), System.nanoTime() + settings.leaseTtl().toNanos());
          return Effect().noReply();
        })
        .onCommand(GetLeases.class, (s, c) -> Effect().reply(c.replyTo(),
            new LeaseReport(name, workers.size(), leases.size(), queue.size(), leases.byWorker(workers),
                leases.byTenant(), leases.peakByTenant())))
        .onCommand(Tick.class, (s, c) -> {
          tick(s);
          return Effect().noReply();
        })
        .onCommand(HostsChanged.class, (s, c) -> {
          placement.hostsChanged(c.hosts());
          placement.place(s);
          return Effect().noReply();
        })
        .onCommand(HostingAnswered.class, (s, c) -> {
          placement.answered(c.version(), c.host(), c.reply());
          placement.place(s);
          return Effect().noReply();
        });
    return b.build();
  }

  private <T> StatusReply<T> unknownModel() {
    return StatusReply.error("model " + name + " does not exist");
  }

  private ReplyEffect<Event, ModelState> register(ModelState s, Register c) {
    String description = c.description() == null ? "" : c.description().strip();
    if (description.length() > 500) {
      return Effect().reply(c.replyTo(), StatusReply.error("description must be at most 500 characters"));
    }
    return Effect().persist(new ModelRegistered(name, description, System.currentTimeMillis()))
        .thenRun(st -> startServing())
        .thenReply(c.replyTo(), st -> StatusReply.success(st.view(name, workers.size())));
  }

  private ReplyEffect<Event, ModelState> addVersion(ModelState s, AddVersion c) {
    String problem = versionProblem(s, c);
    if (problem != null) {
      return Effect().reply(c.replyTo(), StatusReply.error(problem));
    }
    VersionInfo info = new VersionInfo(c.version(), c.runtime(), c.unit(), c.unitPriceMicros(), c.replicas(),
        c.deviceMemoryMb(), System.currentTimeMillis(), c.fallback() == null ? "" : c.fallback());
    return Effect().persist(new VersionRegistered(info))
        .thenRun(placement::place)
        .thenReply(c.replyTo(), st -> StatusReply.success(st.view(name, workers.size())));
  }

  private ReplyEffect<Event, ModelState> retire(ModelState s, RetireVersion c) {
    if (c.version() == null || !s.versions.containsKey(c.version())) {
      return Effect().reply(c.replyTo(), StatusReply.error("model " + name + " version " + c.version()
          + " does not exist (versions: " + String.join(", ", s.versions.keySet()) + ")"));
    }
    if (s.retired.containsKey(c.version())) {
      return Effect().reply(c.replyTo(), StatusReply.success(s.view(name, workers.size())));
    }
    return Effect().persist(new VersionRetired(c.version(), System.currentTimeMillis()))
        .thenRun(st -> {
          ctx.getLog().info("Model {}: version {} retired; its sandboxes stop once its {} leases are given back",
              name, c.version(), leasesOf(c.version()));
          refuseWaitingFor(st, c.version());
          stopDrained(st);
        })
        .thenReply(c.replyTo(), st -> StatusReply.success(st.view(name, workers.size())));
  }

  /** Why a lease of a retired version is refused, and what to call instead. */
  private String retiredMessage(ModelState s, String version) {
    return "model " + name + " version " + version + " is retired and takes no new requests; "
        + (s.defaultVersion.isEmpty() ? "every version of it is retired: use another model"
            : "use version " + s.defaultVersion + " (the default: name no version)");
  }

  private void refuseWaitingFor(ModelState s, String version) {
    Iterator<Waiting> it = queue.iterator();
    while (it.hasNext()) {
      Waiting w = it.next();
      if (w.request().version().equals(version)) {
        it.remove();
        waitingByHolder.remove(w.request().holder(), w);
        w.request().replyTo().tell(new NoSuchVersion(retiredMessage(s, version)));
      }
    }
  }

  private int leasesOf(String version) {
    Map<String, Integer> load = leases.byWorker(workers);
    int n = 0;
    for (WorkerRegistry.Entry w : workers.all()) {
      if (w.version().equals(version)) {
        n += load.getOrDefault(w.workerId(), 0);
      }
    }
    return n;
  }

  /** Versions whose sandboxes were told to stop by this incarnation of the entity. */
  private final Set<String> stopped = new HashSet<>();

  /** Stops the sandboxes of each retired version that holds no lease any more (its last request has finished). */
  private void stopDrained(ModelState s) {
    for (String version : s.retired.keySet()) {
      if (!stopped.contains(version) && leasesOf(version) == 0) {
        stopped.add(version);
        List<String> ids = workers.all().stream().filter(w -> w.version().equals(version))
            .map(WorkerRegistry.Entry::workerId).toList();
        ids.forEach(this::dropWorker);
        placement.stop(version);
      }
    }
  }

  private String versionProblem(ModelState s, AddVersion c) {
    if (c.version() == null || !VERSION.matcher(c.version()).matches()) {
      return "version must be 1-32 characters of letters, digits, '.', '_' and '-'";
    }
    if (s.versions.containsKey(c.version())) {
      return "version " + c.version() + " already exists and versions are immutable; register a new version";
    }
    if (c.runtime() == null || !ModelRuntimes.exists(c.runtime())) {
      return "runtime must be one of " + String.join(", ", ModelRuntimes.NAMES) + ", was '" + c.runtime() + "'";
    }
    if (c.unit() == null || c.unit() == BillingUnit.BILLING_UNIT_UNSPECIFIED || c.unit() == BillingUnit.UNRECOGNIZED) {
      return "billingUnit must be TOKENS, IMAGES or AUDIO_MINUTES";
    }
    if (c.unit() != ModelRuntimes.billingUnit(c.runtime())) {
      return "runtime " + c.runtime() + " is metered in " + ModelRuntimes.billingUnit(c.runtime()) + ", so billingUnit "
          + "must be " + ModelRuntimes.billingUnit(c.runtime()) + ", not " + c.unit();
    }
    if (c.unitPriceMicros() < 0) {
      return "unit price cannot be negative";
    }
    if (c.replicas() < 1 || c.replicas() > 64) {
      return "replicas must be between 1 and 64";
    }
    if (c.deviceMemoryMb() < 0) {
      return "deviceMemoryMb cannot be negative";
    }
    if (c.fallback() != null && !c.fallback().isEmpty()) {
      String fallbackModel = c.fallback().split("@", 2)[0];
      if (!isValidName(fallbackModel) || c.fallback().endsWith("@")) {
        return "fallback must be a model name, optionally with @version, was '" + c.fallback() + "'";
      }
      if (fallbackModel.equals(name)) {
        return "fallback must be another model than " + name;
      }
    }
    return null;
  }

  private ReplyEffect<Event, ModelState> acquire(ModelState s, AcquireLease c) {
    if (c.askerGaveUp(System.currentTimeMillis())) {
      return Effect().noReply();
    }
    String version = c.version() == null || c.version().isEmpty() ? s.defaultVersion : c.version();
    if (version.isEmpty() && !s.versions.isEmpty()) {
      return Effect().reply(c.replyTo(), new NoSuchVersion("every version of model " + name + " is retired ("
          + String.join(", ", s.retired.keySet()) + "): use another model"));
    }
    if (s.retired.containsKey(version)) {
      return Effect().reply(c.replyTo(), new NoSuchVersion(retiredMessage(s, version)));
    }
    if (!s.versions.containsKey(version)) {
      String known = String.join(", ", s.versions.keySet());
      return Effect().reply(c.replyTo(), new NoSuchVersion(s.versions.isEmpty()
          ? "model " + name + " has no versions yet"
          : "model " + name + " has no version " + version + " (versions: " + known + ")"));
    }
    if (!c.holder().isEmpty()) {
      Granted held = heldBy(s, c.holder());
      if (held != null) {
        return Effect().reply(c.replyTo(), held);
      }
      Waiting w = waitingByHolder.get(c.holder());
      if (w != null) {
        w.request = w.request.askedAgain(c.replyTo());
        return Effect().noReply();
      }
    }
    Granted granted = tryGrant(s, version, c.tenantId(), c.holder());
    if (granted != null) {
      return Effect().reply(c.replyTo(), granted);
    }
    if (queue.size() >= settings.queueLimit()) {
      return Effect().reply(c.replyTo(), new NoCapacity("model " + name + " version " + version
          + " has no free worker slot and " + queue.size() + " requests already waiting"));
    }
    Waiting waiting = new Waiting(new AcquireLease(version, c.tenantId(), c.replyTo(), c.holder(),
        c.deadlineEpochMillis()), System.nanoTime() + settings.queueTimeout().toNanos());
    queue.add(waiting);
    if (!c.holder().isEmpty()) {
      waitingByHolder.put(c.holder(), waiting);
    }
    return Effect().noReply();
  }

  private Granted tryGrant(ModelState s, String version, String tenantId, String holder) {
    WorkerRegistry.Entry best = leases.leastLoaded(workers, version);
    if (best == null) {
      return null;
    }
    String leaseId = leases.grant(best.workerId(), tenantId, System.nanoTime() + settings.leaseTtl().toNanos(),
        holder);
    return new Granted(leaseId, best.workerId(), best.ref(), s.versions.get(version));
  }

  /** The lease the holder has now, as it was granted; null when it has none (or its worker is gone). */
  private Granted heldBy(ModelState s, String holder) {
    LeaseTable.Held held = leases.heldBy(holder);
    if (held == null) {
      return null;
    }
    WorkerRegistry.Entry worker = workers.all().stream().filter(w -> w.workerId().equals(held.workerId()))
        .findFirst().orElse(null);
    return worker == null ? null : new Granted(held.leaseId(), worker.workerId(), worker.ref(),
        s.versions.get(worker.version()));
  }

  private void registerWorker(ModelState s, RegisterWorker c) {
    if (s.retired.containsKey(c.version())) {
      // a sandbox of a retired version still announcing itself (its stop is on the way): it gets no leases
      return;
    }
    if (workers.heartbeat(c, System.nanoTime())) {
      ctx.getLog().info("Model {}: worker {} for version {} joined ({} slots)", name, c.workerId(), c.version(),
          c.slots());
      serveQueue(s);
    }
  }

  private void dropWorker(String workerId) {
    if (workers.remove(workerId)) {
      ctx.getLog().info("Model {}: worker {} dropped", name, workerId);
    }
    leases.releaseAllOf(workerId);
  }

  private void serveQueue(ModelState s) {
    Iterator<Waiting> it = queue.iterator();
    long nowMillis = System.currentTimeMillis();
    while (it.hasNext()) {
      Waiting w = it.next();
      if (w.request().askerGaveUp(nowMillis)) {
        it.remove();
        waitingByHolder.remove(w.request().holder(), w);
        continue;
      }
      Granted g = tryGrant(s, w.request().version(), w.request().tenantId(), w.request().holder());
      if (g != null) {
        w.request().replyTo().tell(g);
        it.remove();
        waitingByHolder.remove(w.request().holder(), w);
      }
    }
  }

  private void tick(ModelState s) {
    long now = System.nanoTime();
    boolean expired = leases.expire(now);
    List<String> gone = workers.gone(now, settings.heartbeatTimeout().toNanos(), upMembers());
    gone.forEach(this::dropWorker);
    if (expired || !gone.isEmpty()) {
      serveQueue(s);
    }
    stopDrained(s);
    while (!queue.isEmpty() && queue.peek().deadlineNanos() - now < 0) {
      Waiting w = queue.poll();
      waitingByHolder.remove(w.request().holder(), w);
      w.request().replyTo().tell(new NoCapacity(workers.serves(w.request().version())
          ? "every worker of model " + name + " version " + w.request().version() + " stayed busy for "
              + settings.queueTimeout().toMillis() + " ms"
          : "no worker of model " + name + " version " + w.request().version() + " is running"));
    }
  }

  private Set<String> upMembers() {
    Set<String> up = new HashSet<>();
    Cluster.get(ctx.getSystem()).state().getMembers().forEach(m -> {
      if (m.status() == MemberStatus.up() || m.status() == MemberStatus.weaklyUp()) {
        up.add(m.address().toString());
      }
    });
    return up;
  }

  @Override
  public EventHandler<ModelState, Event> eventHandler() {
    return (state, event) -> state.apply(event);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return settings.snapshotEvery() == 0 ? RetentionCriteria.disabled()
        : RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public Recovery recovery() {
    return settings.snapshotEvery() == 0 ? Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none())
        : super.recovery();
  }

  @Override
  public SnapshotAdapter<ModelState> snapshotAdapter() {
    return ModelSnapshots.INSTANCE;
  }
}
