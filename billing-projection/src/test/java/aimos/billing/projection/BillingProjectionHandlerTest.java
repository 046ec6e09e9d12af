package aimos.billing.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.billing.BillingStore;
import aimos.billing.ledger.CassandraLedgerRepository;
import aimos.billing.ledger.LedgerReader;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.pricing.PriceCatalog;
import aimos.billing.rollup.CassandraRollupRepository;
import aimos.billing.rollup.Grain;
import aimos.billing.rollup.RollupKey;
import aimos.billing.rollup.RollupRow;
import aimos.billing.rollup.RollupWriter;
import aimos.billing.rollup.UsagePoint;
import aimos.billing.rollup.UsageQueries;
import aimos.billing.rollup.UsageTotals;
import aimos.tenant.Plan;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The projection handler on a real Cassandra: ledger rows as recorded, rollups exact under replays and repairs. */
class BillingProjectionHandlerTest {
  /** 2026-11-05T10:00:00Z */
  private static final long TEN_AM = 1_793_872_800_000L;
  private static final long HOUR = 3_600_000L;
  private static BillingStore store;
  private static CassandraLedgerRepository ledger;
  private static CassandraRollupRepository rollups;
  private static UsageQueries usage;

  @BeforeAll
  static void start() {
    store = new BillingStore("handler_test");
    ledger = store.ledger(CassandraLedgerRepository.DEFAULT_BUCKET_SIZE);
    rollups = store.rollups();
    usage = new UsageQueries(rollups);
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  private static SequencedEvent envelope(String tenant, long seq, TenantEntity.Event e) {
    return new SequencedEvent(TenantEntity.persistenceIdOf(tenant), seq, e);
  }

  /** A usage event: {@code tokens} prompt tokens, charged {@code charge}, {@code latencyMicros}, at {@code at}. */
  private static SequencedEvent used(String tenant, long seq, long tokens, long charge,
                                                         long latencyMicros, long at) {
    return envelope(tenant, seq, new TenantEntity.UsageRecorded(tenant, "r" + seq, "demo-text", "v1",
        BillingUnit.TOKENS, 20_000, Units.tokens(tokens, 1), 0, charge, latencyMicros, at, "2026-11"));
  }

  private static BillingProjectionHandler handler() {
    return new BillingProjectionHandler(ledger, new RollupWriter(rollups, 100), x -> { });
  }

  private static void run(BillingProjectionHandler h, List<SequencedEvent> group) {
    h.process(group).toCompletableFuture().join();
  }

  private static List<LedgerRow> ledgerRows(String tenant) {
    return new LedgerReader(ledger, usage::sequenceRange).collect(tenant, "2026-11", 1000, store.testKit.system())
        .toCompletableFuture().join();
  }

  private static RollupRow day(String tenant) {
    return rollups.read(new RollupKey(Grain.DAY, tenant, "2026-11", "2026-11-05", "demo-text", "v1"))
        .toCompletableFuture().join().orElseThrow();
  }

  @Test
  void aRowKeepsTheChargeItsEventRecordedNotTodaysCatalogPrice() {
    // today's catalog would charge 20 micro-dollars per token: (7 + 1) tokens = 160; the event recorded 12,345
    var e = used("priced", 1, 7, 12_345, 1000, TEN_AM);
    var recorded = (TenantEntity.UsageRecorded) e.event();
    long catalog = PriceCatalog.seed().chargeMicros(recorded.unit(), recorded.unitPriceMicros(), recorded.units(), 0);
    assertNotEquals(12_345, catalog);
    AtomicLong lag = new AtomicLong(-1);
    var h = new BillingProjectionHandler(ledger, new RollupWriter(rollups, 100), lag::set);
    run(h, List.of(envelope("priced", 1, new TenantEntity.TenantCreated("priced", "P", new Plan(1, 1, 1, 1), 0)), e));
    List<LedgerRow> rows = ledgerRows("priced");
    assertEquals(1, rows.size());
    assertEquals(12_345, rows.get(0).chargeMicros());
    assertEquals(LedgerRow.recorded(TenantEntity.persistenceIdOf("priced"), 1, recorded), rows.get(0));
    assertEquals(12_345, usage.report("priced", "2026-11").toCompletableFuture().join().chargeMicros());
    assertTrue(lag.get() >= 0);
  }

  @Test
  void reportsEachUsageEventsFreshnessOnceItsRollupIsWritten() {
    long now = System.currentTimeMillis();
    List<Long> visibleAfter = new java.util.concurrent.CopyOnWriteArrayList<>();
    AtomicLong lag = new AtomicLong(-1);
    var h = new BillingProjectionHandler(ledger, new RollupWriter(rollups, 100), new ProjectionMonitor() {
      @Override
      public void projectionLagMillis(long millis) {
        lag.set(millis);
      }

      @Override
      public void usageVisibleAfterMillis(long millis) {
        visibleAfter.add(millis);
      }
    });
    String month = java.time.YearMonth.now(java.time.ZoneOffset.UTC).toString();
    run(h, List.of(
        envelope("fresh", 1, new TenantEntity.UsageRecorded("fresh", "r1", "demo-text", "v1", BillingUnit.TOKENS,
            20_000, Units.tokens(3, 1), 0, 80, 1000, now - 3_000, month)),
        envelope("fresh", 2, new TenantEntity.PlanChanged(new Plan(1, 1, 1, 1))),
        envelope("fresh", 3, new TenantEntity.UsageRecorded("fresh", "r3", "demo-text", "v1", BillingUnit.TOKENS,
            20_000, Units.tokens(3, 1), 0, 80, 1000, now - 500, month))));
    long after = System.currentTimeMillis();
    // one observation per usage event (none for the plan change), each from its own recorded_at
    assertEquals(2, visibleAfter.size(), visibleAfter.toString());
    assertTrue(visibleAfter.get(0) >= 3_000 && visibleAfter.get(0) <= after - now + 3_000, visibleAfter.toString());
    assertTrue(visibleAfter.get(1) >= 500 && visibleAfter.get(1) <= after - now + 500, visibleAfter.toString());
    assertTrue(lag.get() >= 500 && lag.get() < 3_000, "lag is the newest event's age: " + lag.get());
    assertEquals(2, usage.report("fresh", month).toCompletableFuture().join().requests());
    // a group without usage events reports nothing
    run(h, List.of(envelope("fresh", 4, new TenantEntity.PlanChanged(new Plan(2, 2, 2, 2)))));
    assertEquals(2, visibleAfter.size());
  }

  @Test
  void rollupsEqualTheSumOfTheEventsPerDayAndHour() {
    var h = handler();
    run(h, List.of(
        used("summer", 3, 100, 2_000, 50_000, TEN_AM),
        envelope("summer", 4, new TenantEntity.PlanChanged(new Plan(1, 1, 1, 1))),
        used("summer", 5, 200, 4_000, 150_000, TEN_AM + 10),
        used("summer", 6, 300, 6_000, 100_000, TEN_AM + HOUR)));
    var report = usage.report("summer", "2026-11").toCompletableFuture().join();
    assertEquals(3, report.requests());
    assertEquals(600, report.promptTokens());
    assertEquals(3, report.completionTokens());
    assertEquals(12_000, report.chargeMicros());
    assertEquals(1, report.requestsOver100ms(), "100 ms exactly is not over");
    assertEquals(1, report.byModel().size());
    assertEquals(603, report.byModel().get(0).tokens());
    RollupRow day = day("summer");
    assertEquals(3, day.firstSequenceNr());
    assertEquals(6, day.lastSequenceNr());
    List<UsagePoint> hours = usage.hourly("summer", "2026-11-05").toCompletableFuture().join();
    assertEquals(List.of("2026-11-05T10:00:00Z", "2026-11-05T11:00:00Z"), hours.stream().map(UsagePoint::period)
        .toList());
    assertEquals(List.of(2L, 1L), hours.stream().map(UsagePoint::requests).toList());
    assertEquals(List.of(6_000L, 6_000L), hours.stream().map(UsagePoint::chargeMicros).toList());
    assertEquals(1, usage.daily("summer", "2026-11").toCompletableFuture().join().size());
    assertEquals(List.of(3L, 5L, 6L), ledgerRows("summer").stream().map(LedgerRow::sequenceNr).toList());
  }

  @Test
  void theSameGroupTwiceAndAReplayAfterARestartCountOnce() {
    List<SequencedEvent> events = new ArrayList<>();
    long charges = 0;
    for (long seq = 1; seq <= 30; seq++) {
      events.add(used("replayed", seq, seq, seq * 10, seq * 10_000, TEN_AM + seq * 60_000));
      charges += seq * 10;
    }
    var h = handler();
    run(h, events.subList(0, 10));
    run(h, events.subList(0, 10));
    run(h, events.subList(5, 20));
    // a restart: a fresh handler (cold cache) replays from an earlier offset, overlapping what was written
    var restarted = handler();
    run(restarted, events.subList(12, 25));
    run(restarted, events.subList(20, 30));
    run(restarted, events.subList(29, 30));
    var report = usage.report("replayed", "2026-11").toCompletableFuture().join();
    assertEquals(30, report.requests());
    assertEquals(30 * 31 / 2, report.promptTokens());
    assertEquals(charges, report.chargeMicros());
    assertEquals(20, report.requestsOver100ms(), "requests 11..30 took over 100 ms");
    long hourly = usage.hourly("replayed", "2026-11-05").toCompletableFuture().join().stream()
        .mapToLong(UsagePoint::chargeMicros).sum();
    assertEquals(charges, hourly);
    assertEquals(30, ledgerRows("replayed").size());
    assertEquals(new UsageTotals(30, 465, 30, 0, 0, charges, 20), day("replayed").totals());
  }

  @Test
  void aConcurrentRepairIsNotOverwrittenByACachedRow() {
    var h = handler();
    run(h, List.of(used("repaired", 1, 10, 100, 0, TEN_AM), used("repaired", 2, 10, 100, 0, TEN_AM)));
    RollupRow cached = day("repaired");
    // a repair (say, the reconciliation adding an event the projection missed) rewrites the row behind the
    // handler's back, keeping its last sequence number
    RollupRow repaired = new RollupRow(cached.key(), cached.totals().plus(
        (TenantEntity.UsageRecorded) used("repaired", 1, 5, 50, 0, TEN_AM).event()), 1, 2, cached.revision());
    assertTrue(rollups.write(repaired, cached.revision()).toCompletableFuture().join());
    run(h, List.of(used("repaired", 3, 10, 100, 0, TEN_AM)));
    RollupRow after = day("repaired");
    assertEquals(350, after.totals().chargeMicros(), "the repair's 250 plus the new event's 100");
    assertEquals(4, after.totals().requests());
    assertEquals(3, after.lastSequenceNr());
    assertEquals(cached.revision() + 2, after.revision());
  }

  @Test
  void aGroupWithoutUsageWritesNothing() {
    var h = handler();
    run(h, List.of(envelope("quiet", 1, new TenantEntity.PlanChanged(new Plan(1, 1, 1, 1)))));
    assertEquals(0, usage.report("quiet", "2026-11").toCompletableFuture().join().requests());
    assertTrue(rollups.days("quiet", "2026-11").toCompletableFuture().join().isEmpty());
  }
}
