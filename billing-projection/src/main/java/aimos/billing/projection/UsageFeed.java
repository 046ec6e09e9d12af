package aimos.billing.projection;

import aimos.serialization.KryoSerializable;
import aimos.tenant.TenantEntity;
import aimos.tenant.UsageNotices;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The billing feed of one usage tag: reads the journals of the tag's tenants from where it left off and hands their
 * events, in each tenant's sequence order, to the {@link BillingProjectionHandler}; then saves each tenant's new
 * offset. Delivery is at least once (the ledger and the rollups ignore what they already hold), and nothing is
 * skipped: a tenant's sequence numbers have no gaps.
 *
 * <p>It reads a tenant when the tenant says it wrote usage ({@link Notice}, at most one per {@link UsageNotices#GAP}),
 * again {@code recheckAfter} after its last notice (for what the gap held back), and every tenant of the tag when it
 * starts and every {@code sweepInterval} (for a notice lost with a node). Reads happen in passes, at most one at a
 * time and one every {@code passInterval}, so that many tenants' notices share a pass.
 */
public final class UsageFeed extends AbstractBehavior<UsageFeed.Command> {

  public sealed interface Command {}

  /** A tenant of this tag has written usage to its journal (sent through the tag's topic). */
  public record Notice(String tenantId) implements Command, KryoSerializable {}

  /** Stops after the pass under way (the sharded daemon process's stop message, on a hand-off). */
  public enum Stop implements Command { INSTANCE }

  private enum Tick implements Command { INSTANCE }

  private enum LoadOffsets implements Command { INSTANCE }

  private record OffsetsLoaded(Map<String, Long> offsets, Throwable failure) implements Command {}

  private record Listed(int from, List<String> ids, Throwable failure) implements Command {}

  private record PassDone(List<String> chosen, List<TenantRead> reads, Throwable failure) implements Command {}

  /**
   * How often a pass may start, how long after a tenant's last notice it is read once more (longer than
   * {@link UsageNotices#GAP} plus the notice's way), how often every tenant is read, how many tenants one pass reads
   * and how many events of each.
   */
  public record Settings(Duration passInterval, Duration recheckAfter, Duration sweepInterval, int tenantsPerPass,
                         int eventsPerTenant) {
    public Settings {
      if (recheckAfter.compareTo(UsageNotices.GAP) <= 0) {
        throw new IllegalArgumentException("recheck-after must be longer than the notice gap " + UsageNotices.GAP
            + ", was " + recheckAfter);
      }
      if (tenantsPerPass < 1 || eventsPerTenant < 1) {
        throw new IllegalArgumentException("tenants-per-pass and events-per-tenant must be at least 1");
      }
    }

    public static Settings defaults() {
      return new Settings(Duration.ofMillis(200), Duration.ofMillis(600), Duration.ofMinutes(5), 64, 200);
    }

    /** From {@code aimos.billing.feed}. */
    public static Settings from(com.typesafe.config.Config feed) {
      return new Settings(feed.getDuration("pass-interval"), feed.getDuration("recheck-after"),
          feed.getDuration("sweep-interval"), feed.getInt("tenants-per-pass"), feed.getInt("events-per-tenant"));
    }
  }

  /** What the feed reads and writes. */
  public interface Parts {
    /** Up to {@code max} events of the tenant's journal after sequence number {@code after}, in order. */
    CompletionStage<List<SequencedEvent>> eventsAfter(String tenantId, long after, int max);

    /** Tenant ids as listed by the tenant directory from position {@code from} on (empty at the end). */
    CompletionStage<List<String>> tenantsFrom(int from);

    /** Where to start a tenant that has no saved offset: what the rollups already hold. */
    CompletionStage<Long> initialOffset(String tenantId);

    FeedOffsets offsets();

    /** A handler for one feed's lifetime (it caches the rollup rows it writes). */
    BillingProjectionHandler handler();
  }

  /** One tenant's part of a pass: read after {@code from}; {@code to} is the last event read (or {@code from}). */
  private record TenantRead(String tenantId, long from, long to, boolean full, List<SequencedEvent> events) {}

  public static Behavior<Command> create(String tag, Parts parts, Settings settings) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new UsageFeed(ctx, timers, tag, parts, settings)));
  }

  private final TimerScheduler<Command> timers;
  private final String tag;
  private final Parts parts;
  private final Settings settings;
  private final BillingProjectionHandler handler;
  private final Map<String, Long> offsets = new HashMap<>();
  private final Set<String> tenants = new LinkedHashSet<>();
  /** Tenants to read in the next passes: noticed ones first, then those of a sweep. */
  private final Set<String> noticed = new LinkedHashSet<>();
  private final Set<String> swept = new LinkedHashSet<>();
  /** When (System.nanoTime) each recently noticed tenant is read once more. */
  private final Map<String, Long> recheckAt = new HashMap<>();
  private boolean offsetsLoaded;
  private int listed;
  private boolean listing;
  private long lastSweepNanos;
  private boolean busy;
  private boolean stopping;
  private int failures;
  private long pausedUntilNanos;

  private UsageFeed(ActorContext<Command> ctx, TimerScheduler<Command> timers, String tag, Parts parts,
                    Settings settings) {
    super(ctx);
    this.timers = timers;
    this.tag = tag;
    this.parts = parts;
    this.settings = settings;
    this.handler = parts.handler();
    // nanoTime has an arbitrary origin: "not paused" is "paused until now"
    this.pausedUntilNanos = System.nanoTime();
    timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.passInterval());
    loadOffsets();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Notice.class, this::onNotice)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessageEquals(LoadOffsets.INSTANCE, () -> {
          loadOffsets();
          return this;
        })
        .onMessage(OffsetsLoaded.class, this::onOffsetsLoaded)
        .onMessage(Listed.class, this::onListed)
        .onMessage(PassDone.class, this::onPassDone)
        .onMessageEquals(Stop.INSTANCE, this::onStop)
        .build();
  }

  private void loadOffsets() {
    getContext().pipeToSelf(parts.offsets().load(tag), OffsetsLoaded::new);
  }

  private Behavior<Command> onOffsetsLoaded(OffsetsLoaded m) {
    if (m.failure() != null) {
      failures++;
      getContext().getLog().warn("Billing feed {}: reading its offsets failed ({} in a row), trying again: {}", tag,
          failures, m.failure().toString());
      timers.startSingleTimer(LoadOffsets.INSTANCE, Duration.ofMillis(backoffMillis()));
      return this;
    }
    failures = 0;
    // offsets read from the journal before these were loaded are newer or equal: keep them
    m.offsets().forEach(offsets::putIfAbsent);
    tenants.addAll(m.offsets().keySet());
    offsetsLoaded = true;
    startSweep();
    return this;
  }

  private Behavior<Command> onNotice(Notice n) {
    if (!tag.equals(TenantEntity.tagFor(n.tenantId()))) {
      return this;
    }
    tenants.add(n.tenantId());
    noticed.add(n.tenantId());
    recheckAt.put(n.tenantId(), System.nanoTime() + settings.recheckAfter().toNanos());
    return this;
  }

  private Behavior<Command> onTick() {
    long now = System.nanoTime();
    for (Iterator<Map.Entry<String, Long>> it = recheckAt.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Long> e = it.next();
      if (e.getValue() - now <= 0) {
        noticed.add(e.getKey());
        it.remove();
      }
    }
    if (offsetsLoaded && !listing && now - lastSweepNanos >= settings.sweepInterval().toNanos()) {
      startSweep();
    }
    maybeStartPass(now);
    return this;
  }

  /** Lists the tenant directory from where the last sweep ended; once at its end, every tenant is due. */
  private void startSweep() {
    listing = true;
    lastSweepNanos = System.nanoTime();
    int from = listed;
    getContext().pipeToSelf(parts.tenantsFrom(from), (ids, failure) -> new Listed(from, ids, failure));
  }

  private Behavior<Command> onListed(Listed m) {
    if (m.failure() != null) {
      getContext().getLog().warn("Billing feed {}: listing tenants failed, reading those it knows: {}", tag,
          m.failure().toString());
    } else if (!m.ids().isEmpty()) {
      listed = m.from() + m.ids().size();
      for (String id : m.ids()) {
        if (tag.equals(TenantEntity.tagFor(id))) {
          tenants.add(id);
        }
      }
      int from = listed;
      getContext().pipeToSelf(parts.tenantsFrom(from), (ids, failure) -> new Listed(from, ids, failure));
      return this;
    }
    listing = false;
    swept.addAll(tenants);
    maybeStartPass(System.nanoTime());
    return this;
  }

  private void maybeStartPass(long now) {
    if (busy || stopping || !offsetsLoaded || now - pausedUntilNanos < 0 || (noticed.isEmpty() && swept.isEmpty())) {
      return;
    }
    List<String> chosen = new ArrayList<>(settings.tenantsPerPass());
    take(noticed, chosen);
    take(swept, chosen);
    busy = true;
    List<CompletableFuture<TenantRead>> reads = new ArrayList<>(chosen.size());
    for (String tenantId : chosen) {
      reads.add(read(tenantId).toCompletableFuture());
    }
    CompletionStage<List<TenantRead>> pass = CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new))
        .thenCompose(v -> {
          List<TenantRead> done = reads.stream().map(CompletableFuture::join).toList();
          List<SequencedEvent> events = new ArrayList<>();
          Map<String, Long> advanced = new LinkedHashMap<>();
          for (TenantRead r : done) {
            events.addAll(r.events());
            if (r.to() > r.from()) {
              advanced.put(r.tenantId(), r.to());
            }
          }
          return handler.process(events).thenCompose(d -> parts.offsets().save(tag, advanced))
              .thenApply(d -> done);
        });
    getContext().pipeToSelf(pass, (done, failure) -> new PassDone(chosen, done, failure));
  }

  private void take(Set<String> from, List<String> into) {
    for (Iterator<String> it = from.iterator(); it.hasNext() && into.size() < settings.tenantsPerPass(); ) {
      String id = it.next();
      it.remove();
      if (!into.contains(id)) {
        into.add(id);
      }
    }
  }

  private CompletionStage<TenantRead> read(String tenantId) {
    Long known = offsets.get(tenantId);
    CompletionStage<Long> from = known != null ? CompletableFuture.completedFuture(known)
        : parts.initialOffset(tenantId);
    return from.thenCompose(after -> parts.eventsAfter(tenantId, after, settings.eventsPerTenant())
        .thenApply(events -> new TenantRead(tenantId, after,
            events.isEmpty() ? after : events.get(events.size() - 1).sequenceNr(),
            events.size() >= settings.eventsPerTenant(), events)));
  }

  private Behavior<Command> onPassDone(PassDone m) {
    busy = false;
    if (m.failure() != null) {
      failures++;
      getContext().getLog().warn("Billing feed {}: a pass over {} tenants failed ({} in a row), read again: {}",
          tag, m.chosen().size(), failures, m.failure().toString());
      noticed.addAll(m.chosen());
      pausedUntilNanos = System.nanoTime() + backoffMillis() * 1_000_000L;
    } else {
      failures = 0;
      boolean more = false;
      for (TenantRead r : m.reads()) {
        offsets.put(r.tenantId(), r.to());
        if (r.full()) {
          noticed.add(r.tenantId());
          more = true;
        }
      }
      if (more && !stopping) {
        // behind: read on at once rather than at the next tick
        maybeStartPass(System.nanoTime());
      }
    }
    return stopping && !busy ? Behaviors.stopped() : this;
  }

  /** How long to wait before the next try: longer after each failure in a row, 0.5 s to 30 s. */
  private long backoffMillis() {
    return Math.min(30_000L, 500L << Math.min(6, Math.max(0, failures - 1)));
  }

  private Behavior<Command> onStop() {
    if (busy) {
      stopping = true;
      return this;
    }
    return Behaviors.stopped();
  }
}
