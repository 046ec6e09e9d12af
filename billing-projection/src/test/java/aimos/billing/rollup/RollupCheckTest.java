package aimos.billing.rollup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.billing.BillingStore;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The rollup side of the reconciliation on a real Cassandra. */
class RollupCheckTest {
  private static final long TEN_AM = 1_793_872_800_000L;
  private static BillingStore store;
  private static CassandraRollupRepository rollups;

  @BeforeAll
  static void start() {
    store = new BillingStore("rollup_check_test");
    rollups = store.rollups();
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  private static List<SequencedUsage> events(String tenant, int n) {
    List<SequencedUsage> out = new ArrayList<>();
    for (long seq = 1; seq <= n; seq++) {
      out.add(new SequencedUsage(seq, new TenantEntity.UsageRecorded(tenant, "r" + seq, "m", "v1", BillingUnit.TOKENS,
          20_000, Units.tokens(seq, 0), 0, seq * 100, 0, TEN_AM + seq, "2026-11")));
    }
    return out;
  }

  private static RollupKey dayKey(String tenant) {
    return new RollupKey(Grain.DAY, tenant, "2026-11", "2026-11-05", "m", "v1");
  }

  private static RollupRow read(RollupKey key) {
    return rollups.read(key).toCompletableFuture().join().orElseThrow();
  }

  private static RollupCheck.Result check(RollupRepository repo, String tenant, List<SequencedUsage> events,
                                          boolean repair) {
    return new RollupCheck(repo).check(tenant, events, events.size(), Long.MAX_VALUE, repair)
        .toCompletableFuture().join();
  }

  @Test
  void findsACorruptedRowAndRepairsItFromTheJournal() {
    var events = events("corrupt", 5);
    new RollupWriter(rollups, 10).apply(events).toCompletableFuture().join();
    assertEquals(0, check(rollups, "corrupt", events, false).wrong());
    RollupRow good = read(dayKey("corrupt"));
    RollupRow bad = new RollupRow(good.key(), new UsageTotals(1, 1, 1, 1, 1, 1, 1), 1, 5, good.revision());
    assertTrue(rollups.write(bad, good.revision()).toCompletableFuture().join());

    var found = check(rollups, "corrupt", events, false);
    assertEquals(1, found.wrong());
    assertEquals(0, found.repaired());
    assertEquals(List.of(dayKey("corrupt").toString()), found.examples());
    assertEquals(bad.totals(), read(dayKey("corrupt")).totals(), "a check writes nothing");

    var repaired = check(rollups, "corrupt", events, true);
    assertEquals(1, repaired.repaired());
    assertTrue(good.sameContent(read(dayKey("corrupt"))));
    assertEquals(0, check(rollups, "corrupt", events, true).wrong());
  }

  @Test
  void writesRowsTheProjectionMissedAndDeletesRowsNoEventExplains() {
    var events = events("missed", 3);
    // the rollups hold events 1 and 3 but not 2 (an earlier version's tag query could miss it), and no hour row
    new RollupWriter(rollups, 10).apply(List.of(events.get(0), events.get(2))).toCompletableFuture().join();
    RollupKey hourKey = new RollupKey(Grain.HOUR, "missed", "2026-11-05", "10", "m", "v1");
    assertTrue(rollups.delete(hourKey, read(hourKey).revision()).toCompletableFuture().join());
    RollupKey ghost = new RollupKey(Grain.DAY, "missed", "2026-11", "2026-11-05", "ghost", "v9");
    assertTrue(rollups.write(new RollupRow(ghost, UsageTotals.ZERO, 1, 1, 0), 0).toCompletableFuture().join());

    var result = check(rollups, "missed", events, true);
    assertEquals(3, result.wrong(), result.toString());
    assertEquals(3, result.repaired());
    assertEquals(new UsageTotals(3, 6, 0, 0, 0, 600, 0), read(dayKey("missed")).totals());
    assertEquals(new UsageTotals(3, 6, 0, 0, 0, 600, 0), read(hourKey).totals());
    assertFalse(rollups.read(ghost).toCompletableFuture().join().isPresent());
  }

  @Test
  void leavesRowsNewerThanItsJournalReadAlone() {
    var events = events("ahead", 4);
    new RollupWriter(rollups, 10).apply(events).toCompletableFuture().join();
    // the check read the journal up to sequence number 3 only: the row (up to 4) is newer than what it knows
    var result = new RollupCheck(rollups).check("ahead", events.subList(0, 3), 3, Long.MAX_VALUE, true)
        .toCompletableFuture().join();
    assertEquals(0, result.wrong());
    assertEquals(4, read(dayKey("ahead")).totals().requests());
  }

  @Test
  void eventsInsideTheGracePeriodAreNotYetExpected() {
    var events = events("young", 2);
    new RollupWriter(rollups, 10).apply(events.subList(0, 1)).toCompletableFuture().join();
    long cutoff = TEN_AM + 1;
    var result = new RollupCheck(rollups).check("young", events, 2, cutoff, true).toCompletableFuture().join();
    assertEquals(0, result.wrong(), "event 2 is younger than the grace period");
  }

  @Test
  void aRepairNeverOverwritesAProjectionWriteThatCameBetween() {
    var events = events("racing", 3);
    new RollupWriter(rollups, 10).apply(events.subList(0, 2)).toCompletableFuture().join();
    RollupRow row = read(dayKey("racing"));
    assertTrue(rollups.write(new RollupRow(row.key(), UsageTotals.ZERO, 1, 2, 0), row.revision())
        .toCompletableFuture().join());
    // between the check's read and its write, the projection folds event 3 into the row
    RollupRepository racing = new RollupRepository() {
      @Override
      public CompletionStage<Optional<RollupRow>> read(RollupKey key) {
        return rollups.read(key);
      }

      @Override
      public CompletionStage<Boolean> write(RollupRow r, long expectedRevision) {
        if (r.key().grain() == Grain.DAY) {
          new RollupWriter(rollups, 10).apply(events.subList(2, 3)).toCompletableFuture().join();
        }
        return rollups.write(r, expectedRevision);
      }

      @Override
      public CompletionStage<Boolean> delete(RollupKey key, long expectedRevision) {
        return rollups.delete(key, expectedRevision);
      }

      @Override
      public CompletionStage<java.util.List<RollupRow>> days(String tenantId, String month) {
        return rollups.days(tenantId, month);
      }

      @Override
      public CompletionStage<java.util.List<RollupRow>> hours(String tenantId, String day) {
        return rollups.hours(tenantId, day);
      }
    };
    var result = check(racing, "racing", events.subList(0, 2), true);
    assertEquals(1, result.wrong());
    assertEquals(0, result.repaired(), "the row changed since it was read: left for the next pass");
    RollupRow after = read(dayKey("racing"));
    assertEquals(3, after.lastSequenceNr(), "the projection's write stands");
    assertEquals(1, after.totals().requests());
    // the next pass, with the journal up to event 3, puts it right
    assertEquals(1, check(rollups, "racing", events, true).repaired());
    assertEquals(new UsageTotals(3, 6, 0, 0, 0, 600, 0), read(dayKey("racing")).totals());
  }
}
