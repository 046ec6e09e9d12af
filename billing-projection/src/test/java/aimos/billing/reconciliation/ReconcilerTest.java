package aimos.billing.reconciliation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.billing.BillingStore;
import aimos.billing.ledger.CassandraLedgerRepository;
import aimos.billing.pricing.PriceCatalog;
import aimos.billing.projection.BillingProjectionHandler;
import aimos.billing.projection.SequencedEvent;
import aimos.billing.rollup.CassandraRollupRepository;
import aimos.billing.rollup.RollupWriter;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The reconciler against a real journal: charges are compared with what each event recorded, never with today's
 * catalog; the ledger is read in pages over several buckets.
 */
class ReconcilerTest {
  private static BillingStore store;
  private static CassandraLedgerRepository ledger;
  private static CassandraRollupRepository rollups;

  @BeforeAll
  static void start() {
    store = new BillingStore("reconciler_test");
    ledger = store.ledger(4);
    rollups = store.rollups();
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  /** Writes the events to the tenant's journal (sequence numbers from 1) and runs them through the projection. */
  private static void journalAndProject(String tenant, List<TenantEntity.Event> events) {
    store.append(tenant, events);
    List<SequencedEvent> envelopes = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      envelopes.add(new SequencedEvent(TenantEntity.persistenceIdOf(tenant), i + 1, events.get(i)));
    }
    new BillingProjectionHandler(ledger, new RollupWriter(rollups, 10), x -> { }).process(envelopes)
        .toCompletableFuture().join();
  }

  @Test
  void aChargeThatDiffersFromTodaysCatalogIsClean() {
    String tenant = "repriced";
    long now = System.currentTimeMillis();
    String month = java.time.YearMonth.now(java.time.ZoneOffset.UTC).toString();
    List<TenantEntity.Event> events = new ArrayList<>();
    for (int i = 1; i <= 10; i++) {
      // recorded at 7 micro-dollars a request; today's catalog would charge 20 per token
      events.add(new TenantEntity.UsageRecorded(tenant, "r" + i, "m", "v1", BillingUnit.TOKENS, 20_000,
          Units.tokens(100, 0), 0, 7, 0, now - 60_000, month));
    }
    var e = (TenantEntity.UsageRecorded) events.get(0);
    assertTrue(PriceCatalog.seed().chargeMicros(e.unit(), e.unitPriceMicros(), e.units(), 0) != 7);
    journalAndProject(tenant, events);

    var reconciler = new Reconciler(store.testKit.system(), ledger, rollups, Duration.ZERO);
    var report = reconciler.reconcile(tenant, false).toCompletableFuture().join();
    assertTrue(report.clean(), report.toString());
    assertEquals(10, report.ledgerRows(), "every bucket of the month was read");
    assertTrue(report.rollupsChecked() >= 2, report.toString());

    // a ledger row and a rollup row lost: found, repaired, clean again
    store.session.executeWrite("DELETE FROM " + store.keyspace + ".ledger_rows WHERE tenant_id = ? AND month = ? "
        + "AND bucket = 1 AND persistence_id = ? AND sequence_nr = 6", tenant, month,
        TenantEntity.persistenceIdOf(tenant)).toCompletableFuture().join();
    store.session.executeWrite("DELETE FROM " + store.keyspace + ".usage_daily WHERE tenant_id = ? AND month = ?",
        tenant, month).toCompletableFuture().join();
    var found = reconciler.reconcile(tenant, true).toCompletableFuture().join();
    assertEquals(List.of(6L), found.missing());
    assertEquals(1, found.rollupsWrong(), found.toString());
    assertEquals(1, found.rollupsRepaired());
    var after = reconciler.reconcile(tenant, false).toCompletableFuture().join();
    assertTrue(after.clean(), after.toString());
    assertEquals(70, new aimos.billing.rollup.UsageQueries(rollups).report(tenant, month).toCompletableFuture().join()
        .chargeMicros());
  }

  /**
   * A request id reused past the dedup horizon is a new request, run and billed again (README, "Request ids"); only
   * a second charge the tenant should have answered from its recording is flagged. Flagging both kept a tenant that
   * reused an id a day later from ever reconciling (and its month's invoice from closing).
   */
  @Test
  void onlyASecondChargeWithinTheDedupWindowIsBilledTwice() {
    String tenant = "reused-ids";
    String month = java.time.YearMonth.now(java.time.ZoneOffset.UTC).toString();
    long monthStart = java.time.YearMonth.now(java.time.ZoneOffset.UTC).atDay(1)
        .atStartOfDay(java.time.ZoneOffset.UTC).toInstant().toEpochMilli();
    long day = Duration.ofDays(1).toMillis();
    long hour = Duration.ofHours(1).toMillis();
    // "kept" again 25 h later (a new request); "doubled" again 2 h later (a fault); recorded times within the month
    long[] at = {monthStart, monthStart + day, monthStart + day + hour, monthStart + day + 2 * hour};
    String[] ids = {"kept", "doubled", "kept", "doubled"};
    List<TenantEntity.Event> events = new ArrayList<>();
    for (int i = 0; i < ids.length; i++) {
      events.add(new TenantEntity.UsageRecorded(tenant, ids[i], "m", "v1", BillingUnit.TOKENS, 20_000,
          Units.tokens(100, 0), 0, 7, 0, at[i], month));
    }
    journalAndProject(tenant, events);

    var report = new Reconciler(store.testKit.system(), ledger, rollups, Duration.ZERO).reconcile(tenant, false)
        .toCompletableFuture().join();
    assertEquals(4, report.ledgerRows(), report.toString());
    assertEquals(1, report.billedTwiceCount(), report.toString());
    assertEquals(List.of("doubled"), report.billedTwice());
  }
}
