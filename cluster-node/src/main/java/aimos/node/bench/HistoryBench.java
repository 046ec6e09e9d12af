package aimos.node.bench;

import aimos.api.v1.BillingUnit;
import aimos.billing.pricing.PriceCatalog;
import aimos.cassandra.CassandraLauncher;
import aimos.node.NodeConfig;
import aimos.tenant.Plan;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * {@code bin/aimos bench history}: what a tenant's history costs. For tenants with 10k, 100k and 1M usage events it
 * writes the history through the tenant entity (group commit, snapshots on), then measures how long the entity takes
 * to recover (from its newest snapshot, and for comparison by replaying every event) until it answers.
 */
public final class HistoryBench {
  private HistoryBench() {}

  /** Models the bench's usage is spread over: a month's usage is days x models x versions rollup rows. */
  static final int MODELS = 4;

  /**
   * A clock that moves through the current month (UTC) as the history is written, so that the usage spreads over 27
   * days as a real month's does: {@code progress} of {@code total} events written so far.
   */
  static final class SpreadClock extends Clock {
    private final long start = java.time.YearMonth.now(ZoneOffset.UTC).atDay(1).atStartOfDay(ZoneOffset.UTC)
        .toInstant().toEpochMilli();
    final AtomicLong progress = new AtomicLong();
    private final long total;

    SpreadClock(long total) {
      this.total = Math.max(1, total);
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public java.time.Instant instant() {
      return java.time.Instant.ofEpochMilli(millis());
    }

    @Override
    public long millis() {
      return start + Math.min(progress.get(), total) * Duration.ofDays(27).toMillis() / total;
    }
  }

  /** The seed prices as the only list in force. */
  private static final aimos.billing.pricing.PriceList PRICES =
      new aimos.billing.pricing.PriceList(1, 0, PriceCatalog.seed(), java.util.Map.of(), 0);

  record Options(List<Integer> sizes, List<Integer> snapshotEvery, int baselineUpTo, int recoveries, int reads,
                 String cassandra) {
    static Options parse(String[] args) {
      List<Integer> sizes = List.of(10_000, 100_000, 1_000_000);
      List<Integer> every = List.of(TenantEntity.DEFAULT_SNAPSHOT_EVERY);
      int baseline = 100_000;
      int recoveries = 5;
      int reads = 1000;
      String cassandra = null;
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        String v = i + 1 < args.length ? args[i + 1] : null;
        switch (a) {
          case "--sizes" -> sizes = Arrays.stream(require(a, v).split(",")).map(String::strip)
              .map(s -> positive(a, s)).toList();
          case "--snapshot-every" -> every = Arrays.stream(require(a, v).split(",")).map(String::strip)
              .map(s -> positive(a, s)).toList();
          case "--baseline-up-to" -> baseline = Integer.parseInt(require(a, v));
          case "--recoveries" -> recoveries = positive(a, require(a, v));
          case "--reads" -> reads = Integer.parseInt(require(a, v));
          case "--cassandra" -> cassandra = require(a, v);
          case "-h", "--help" -> {
            System.out.println("""
                Usage: bin/aimos bench history [--sizes 10000,100000,1000000] [--snapshot-every N,M]
                                               [--baseline-up-to N] [--recoveries N] [--reads N]
                                               [--cassandra host:port]
                  Writes each size of usage history into a fresh tenant, then times the tenant's recovery from its
                  snapshot (and, up to --baseline-up-to events, by replaying every event); several --snapshot-every
                  values compare snapshot intervals on the same sizes. Then the billing projection turns the history
                  into ledger rows and rollups, and the month's usage is read --reads times (0: skip). Without
                  --cassandra it
                  starts its own Cassandra under .aimos/bench.""");
            System.exit(0);
          }
          default -> throw new IllegalArgumentException("unknown option " + a + " (see --help)");
        }
        i++;
      }
      return new Options(sizes, every, baseline, recoveries, reads, cassandra);
    }

    private static String require(String option, String value) {
      if (value == null) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return value;
    }

    private static int positive(String option, String value) {
      try {
        int n = Integer.parseInt(value.replace("_", ""));
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException(option + " takes positive whole numbers, was '" + value + "'");
    }
  }

  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    CassandraLauncher cassandra = null;
    String contact = o.cassandra();
    if (contact == null) {
      Path home = Path.of(System.getenv().getOrDefault("AIMOS_HOME", ".aimos")).resolve("bench");
      System.out.println("Starting Cassandra (data in " + home.resolve("cassandra") + ")...");
      cassandra = CassandraLauncher.start(new CassandraLauncher.Settings(home.resolve("cassandra"), "127.0.0.1",
          CassandraLauncher.freePort(), CassandraLauncher.freePort(), "1g",
          Path.of(System.getProperty("java.home")), Duration.ofSeconds(180)));
      contact = cassandra.contactPoint();
    }
    ActorSystem<Bench.Command> system = ActorSystem.create(Bench.create(), "aimos-bench",
        NodeConfig.load(ConfigFactory.parseString(config(contact))));
    try {
      run(system, o);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      if (cassandra != null) {
        cassandra.close();
      }
    }
  }

  static String config(String contact) {
    String hour = LocalDateTime.now(ZoneOffset.UTC).minusHours(1).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HH:00"));
    return """
        aimos.create-tables = on
        pekko.actor.provider = local
        pekko.persistence.cassandra.journal.keyspace = "aimos_bench_journal"
        pekko.persistence.cassandra.snapshot.keyspace = "aimos_bench_snapshot"
        pekko.projection.cassandra.offset-store.keyspace = "aimos_bench_offsets"
        pekko.persistence.cassandra.events-by-tag.first-time-bucket = "%s"
        aimos.billing.keyspace = "aimos_bench_billing"
        datastax-java-driver.basic.contact-points = ["%s"]
        """.formatted(hour, contact);
  }

  private static void run(ActorSystem<Bench.Command> system, Options o) throws Exception {
    Duration timeout = Duration.ofMinutes(5);
    List<String> lines = new ArrayList<>();
    lines.add(String.format("%-10s %12s %14s %14s %14s %14s  %s", "events", "write ev/s", "recovery p50",
        "recovery max", "full replay", "snapshot", "usage read (rollups) / month scan (ledger)"));
    Billing billing = Billing.start(system);
    String month = java.time.YearMonth.now(ZoneOffset.UTC).toString();
    warmUp(system, timeout);
    for (int every : o.snapshotEvery()) {
      for (int size : o.sizes()) {
        String tenantId = "bench-" + size + "-" + Long.toString(System.currentTimeMillis(), 36);
        // the worst case: the newest snapshot is every-1 events behind (the creation event is the first of all)
        int events = size + Math.floorMod(every - 1 - (size + 1) % every, every);
        SpreadClock clock = new SpreadClock(events);
        TenantEntity.Settings settings = new TenantEntity.Settings(Duration.ofMinutes(2), Duration.ofSeconds(2),
            clock).withSnapshotEvery(every);
        long writeRate = write(system, tenantId, events, settings, clock, timeout);
        awaitTagScanning(system, tenantId, events + 1);
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < o.recoveries(); i++) {
          times.add(recover(system, tenantId, settings, timeout));
        }
        times.sort(null);
        String replay = "-";
        if (size <= o.baselineUpTo()) {
          replay = ms(recover(system, tenantId, settings.withSnapshotEvery(0), timeout));
        }
        String reads = "-";
        if (o.reads() > 0) {
          reads = usageReads(system, billing, tenantId, month, events, o.reads(), size <= o.baselineUpTo());
        }
        lines.add(String.format("%-10d %12d %14s %14s %14s %14s  %s", events, writeRate,
            ms(times.get(times.size() / 2)), ms(times.get(times.size() - 1)), replay, "every " + every, reads));
        System.out.println(lines.get(lines.size() - 1));
      }
    }
    System.out.println();
    System.out.println("Recovery of a tenant: from spawning its entity to its first answer (GetSummary), "
        + o.recoveries() + " times each, with every-1 events after the newest snapshot (the most it replays); "
        + "'full replay' reads every event without snapshots. Usage read: the month's usage report from the rollups, "
        + o.reads() + " times (p50/p99, rows read); month scan: every ledger row of the month, as a read that grows "
        + "with the requests would.");
    lines.forEach(System.out::println);
  }

  /**
   * Writes and recovers a small tenant a few times, unmeasured, so that the first measured size does not pay for the
   * JIT compiling the recovery and write paths.
   */
  private static void warmUp(ActorSystem<Bench.Command> system, Duration timeout) throws Exception {
    System.out.println("Warming up (a tenant of 20,000 events, recovered 20 times)...");
    String tenantId = "warmup-" + Long.toString(System.currentTimeMillis(), 36);
    SpreadClock clock = new SpreadClock(20_000);
    TenantEntity.Settings settings = new TenantEntity.Settings(Duration.ofMinutes(2), Duration.ofSeconds(2), clock)
        .withSnapshotEvery(TenantEntity.DEFAULT_SNAPSHOT_EVERY);
    write(system, tenantId, 20_000, settings, clock, timeout);
    for (int i = 0; i < 20; i++) {
      recover(system, tenantId, i % 2 == 0 ? settings : settings.withSnapshotEvery(0), timeout);
    }
  }

  /**
   * Waits until the journal has recorded that the tenant's tag writes are complete up to its last event, as it does
   * every {@code events-by-tag.scanning-flush-interval} on a running node: recovery scans the events after that
   * point, so measuring before it would count a scan a live tenant does not do.
   */
  private static void awaitTagScanning(ActorSystem<?> system, String tenantId, long sequenceNr) throws Exception {
    var session = org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry.get(system)
        .sessionFor("pekko.persistence.cassandra");
    String keyspace = system.settings().config().getString("pekko.persistence.cassandra.journal.keyspace");
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline) {
      var row = session.selectOne("SELECT sequence_nr FROM " + keyspace + ".tag_scanning WHERE persistence_id = ?",
          TenantEntity.persistenceIdOf(tenantId)).toCompletableFuture().get();
      if (row.isPresent() && row.get().getLong("sequence_nr") >= sequenceNr) {
        return;
      }
      // the flush runs on its own interval; poll it at a tenth of that
      Thread.sleep(500);
    }
    System.out.println("  (the tag scanning progress of " + tenantId + " was not flushed within 2 minutes)");
  }

  private static String ms(long nanos) {
    return String.format("%.1f ms", nanos / 1e6);
  }

  /** Writes {@code size} usage events through the entity, at most 4,000 in flight; the rate in events/s. */
  private static long write(ActorSystem<Bench.Command> system, String tenantId, int size,
                            TenantEntity.Settings settings, SpreadClock clock, Duration timeout) throws Exception {
    ActorRef<TenantEntity.Command> tenant = spawn(system, tenantId, settings, timeout);
    AskPattern.<TenantEntity.Command, StatusReply<TenantEntity.Summary>>ask(tenant,
        rt -> new TenantEntity.Create("Bench " + size, new Plan(1_000_000, 1_000_000_000L, Long.MAX_VALUE / 4, 64), rt),
        timeout, system.scheduler()).toCompletableFuture().get();
    Semaphore inFlight = new Semaphore(4000);
    AtomicLong failed = new AtomicLong();
    long start = System.nanoTime();
    int step = Math.max(1, size / 10);
    List<CompletableFuture<?>> last = new ArrayList<>();
    for (int i = 1; i <= size; i++) {
      inFlight.acquire();
      clock.progress.set(i);
      String requestId = "req-" + i;
      String model = "bench-model-" + i % MODELS;
      // latencies of 25-225 ms: some over the 100 ms the SLA counts
      long latencyMicros = 25_000L + i % 200_000;
      CompletableFuture<StatusReply<TenantEntity.Recorded>> f = AskPattern.<TenantEntity.Command,
          StatusReply<TenantEntity.Recorded>>ask(tenant, rt -> new TenantEntity.RecordUsage("bench", requestId,
              "fp-" + requestId, model, "v1", BillingUnit.TOKENS, 20_000, Units.tokens(12, 30), latencyMicros,
              rt), timeout, system.scheduler()).toCompletableFuture();
      f.whenComplete((r, e) -> {
        if (e != null || !r.isSuccess()) {
          failed.incrementAndGet();
        }
        inFlight.release();
      });
      if (i > size - 4000) {
        last.add(f);
      }
      if (i % step == 0) {
        System.out.printf("  tenant %s: %,d of %,d events written%n", tenantId, i, size);
      }
    }
    CompletableFuture.allOf(last.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
    inFlight.acquire(4000);
    long elapsed = System.nanoTime() - start;
    if (failed.get() > 0) {
      throw new IllegalStateException(failed.get() + " usage writes failed");
    }
    stop(system, tenant, timeout);
    return Math.round(size / (elapsed / 1e9));
  }

  /** Spawns the tenant's entity afresh and times it until its first answer; the entity is stopped afterwards. */
  private static long recover(ActorSystem<Bench.Command> system, String tenantId, TenantEntity.Settings settings,
                              Duration timeout) throws Exception {
    long start = System.nanoTime();
    ActorRef<TenantEntity.Command> tenant = spawn(system, tenantId, settings, timeout);
    StatusReply<TenantEntity.Summary> s = AskPattern.<TenantEntity.Command, StatusReply<TenantEntity.Summary>>ask(
        tenant, TenantEntity.GetSummary::new, timeout, system.scheduler()).toCompletableFuture().get();
    long elapsed = System.nanoTime() - start;
    if (!s.isSuccess()) {
      throw new IllegalStateException("tenant " + tenantId + " did not recover: " + s);
    }
    stop(system, tenant, timeout);
    return elapsed;
  }

  private static ActorRef<TenantEntity.Command> spawn(ActorSystem<Bench.Command> system, String tenantId,
                                                      TenantEntity.Settings settings, Duration timeout)
      throws Exception {
    return AskPattern.<Bench.Command, ActorRef<TenantEntity.Command>>ask(system,
        rt -> new Bench.Spawn(TenantEntity.create(tenantId, settings,
            (model, unit, price, units, before, at) -> PRICES.charge(model, unit, price, units, before)), rt), timeout,
        system.scheduler()).toCompletableFuture().get();
  }

  private static void stop(ActorSystem<Bench.Command> system, ActorRef<TenantEntity.Command> tenant, Duration timeout)
      throws Exception {
    AskPattern.<Bench.Command, Boolean>ask(system, rt -> new Bench.Stop(tenant, rt), timeout, system.scheduler())
        .toCompletableFuture().get();
  }

  /** The billing side: the ledger and rollup tables, and one billing feed per tenant once needed. */
  record Billing(ActorSystem<Bench.Command> system, aimos.billing.ledger.LedgerRepository ledger,
                 aimos.billing.rollup.RollupRepository rollups, aimos.billing.rollup.UsageQueries usage,
                 aimos.billing.ledger.LedgerReader reader, java.util.Set<String> running) {
    static Billing start(ActorSystem<Bench.Command> system) {
      var session = org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry.get(system)
          .sessionFor(org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings.create(
              "pekko.projection.cassandra.session-config"));
      String keyspace = system.settings().config().getString("aimos.billing.keyspace");
      aimos.billing.ledger.CassandraLedgerRepository.createTables(session, keyspace).toCompletableFuture().join();
      org.apache.pekko.projection.cassandra.javadsl.CassandraProjection.createTablesIfNotExists(system)
          .toCompletableFuture().join();
      var ledger = new aimos.billing.ledger.CassandraLedgerRepository(session, keyspace);
      var rollups = new aimos.billing.rollup.CassandraRollupRepository(session, keyspace);
      var usage = new aimos.billing.rollup.UsageQueries(rollups);
      return new Billing(system, ledger, rollups, usage, new aimos.billing.ledger.LedgerReader(ledger,
          usage::sequenceRange), java.util.concurrent.ConcurrentHashMap.newKeySet());
    }

    /** Starts a billing feed that reads this one tenant's journal into the ledger and the rollups. */
    void project(String tenantId) {
      if (!running.add(tenantId)) {
        return;
      }
      var session = org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry.get(system)
          .sessionFor(org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings.create(
              "pekko.projection.cassandra.session-config"));
      var parts = aimos.billing.projection.BillingProjection.parts(system, ledger, rollups, lag -> { },
          new aimos.billing.projection.FeedOffsets(session, system.settings().config().getString(
              "aimos.billing.keyspace")), Duration.ofSeconds(10));
      // the bench's tenants are not in a tenant directory: the feed knows this one
      var oneTenant = new aimos.billing.projection.UsageFeed.Parts() {
        @Override
        public java.util.concurrent.CompletionStage<java.util.List<aimos.billing.projection.SequencedEvent>>
            eventsAfter(String id, long after, int max) {
          return parts.eventsAfter(id, after, max);
        }

        @Override
        public java.util.concurrent.CompletionStage<java.util.List<String>> tenantsFrom(int from) {
          return java.util.concurrent.CompletableFuture.completedFuture(
              from == 0 ? java.util.List.of(tenantId) : java.util.List.of());
        }

        @Override
        public java.util.concurrent.CompletionStage<Long> initialOffset(String id) {
          return parts.initialOffset(id);
        }

        @Override
        public aimos.billing.projection.FeedOffsets offsets() {
          return parts.offsets();
        }

        @Override
        public aimos.billing.projection.BillingProjectionHandler handler() {
          return parts.handler();
        }
      };
      var settings = aimos.billing.projection.UsageFeed.Settings.defaults();
      system.tell(new Bench.StartProjection(aimos.billing.projection.UsageFeed.create(TenantEntity.tagFor(tenantId),
          oneTenant, new aimos.billing.projection.UsageFeed.Settings(settings.passInterval(),
              settings.recheckAfter(), settings.sweepInterval(), 1, 2_000))));
    }
  }

  /**
   * Projects the tenant's history into the ledger and the rollups, then times the month's usage report read from
   * the rollups {@code reads} times, and (with {@code scan}) one read of every ledger row of the month.
   */
  private static String usageReads(ActorSystem<Bench.Command> system, Billing billing, String tenantId, String month,
                                   long events, int reads, boolean scan) throws Exception {
    billing.project(tenantId);
    long start = System.nanoTime();
    long lastPrint = start;
    while (true) {
      long projected = billing.usage().report(tenantId, month).toCompletableFuture().get().requests();
      if (projected >= events) {
        break;
      }
      if (System.nanoTime() - start > TimeUnit.MINUTES.toNanos(60)) {
        throw new IllegalStateException("the billing projection did not catch up within an hour");
      }
      if (System.nanoTime() - lastPrint > TimeUnit.SECONDS.toNanos(10)) {
        lastPrint = System.nanoTime();
        System.out.printf("  billing projection: %,d of %,d events in the rollups%n", projected, events);
      }
      // the projection writes in groups; look again shortly
      Thread.sleep(200);
    }
    System.out.printf("  billing projection: %,d events projected in %.1f s%n", events,
        (System.nanoTime() - start) / 1e9);
    var dayRows = billing.rollups().days(tenantId, month).toCompletableFuture().get();
    int rows = dayRows.size();
    long days = dayRows.stream().map(r -> r.key().slot()).distinct().count();
    long[] took = new long[reads];
    for (int i = 0; i < reads; i++) {
      long t0 = System.nanoTime();
      var report = billing.usage().report(tenantId, month).toCompletableFuture().get();
      took[i] = System.nanoTime() - t0;
      if (report.requests() != events) {
        throw new IllegalStateException("usage report of " + report.requests() + " requests, expected " + events);
      }
    }
    Arrays.sort(took);
    String result = String.format("p50 %s, p99 %s (%d rows: %d days x models)", ms(took[reads / 2]),
        ms(took[Math.min(reads - 1, (int) Math.ceil(reads * 0.99) - 1)]), rows, days);
    if (scan) {
      long t0 = System.nanoTime();
      int scanned = billing.reader().collect(tenantId, month, (int) events, system).toCompletableFuture().get().size();
      result += String.format(" / scan %s (%d rows)", ms(System.nanoTime() - t0), scanned);
    }
    return result;
  }

  /** The guardian: spawns entities and stops them, answering once they have terminated. */
  static final class Bench {
    interface Command {}

    record Spawn(Behavior<TenantEntity.Command> behavior, ActorRef<ActorRef<TenantEntity.Command>> replyTo)
        implements Command {}

    record Stop(ActorRef<TenantEntity.Command> entity, ActorRef<Boolean> replyTo) implements Command {}

    record StartProjection(Behavior<aimos.billing.projection.UsageFeed.Command> projection)
        implements Command {}

    private record Stopped(ActorRef<Boolean> replyTo) implements Command {}

    static Behavior<Command> create() {
      AtomicLong names = new AtomicLong();
      return Behaviors.setup(ctx -> Behaviors.receive(Command.class)
          .onMessage(Spawn.class, s -> {
            s.replyTo().tell(ctx.spawn(s.behavior(), "tenant-" + names.incrementAndGet()));
            return Behaviors.same();
          })
          .onMessage(Stop.class, s -> {
            ctx.watchWith(s.entity(), new Stopped(s.replyTo()));
            ctx.stop(s.entity());
            return Behaviors.same();
          })
          .onMessage(StartProjection.class, s -> {
            ctx.spawn(s.projection(), "projection-" + names.incrementAndGet());
            return Behaviors.same();
          })
          .onMessage(Stopped.class, s -> {
            s.replyTo().tell(true);
            return Behaviors.same();
          })
          .build());
    }
  }
}
