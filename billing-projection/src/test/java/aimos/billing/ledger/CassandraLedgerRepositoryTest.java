package aimos.billing.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.billing.BillingStore;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The bucketed ledger table on a real Cassandra, read in pages across bucket boundaries. */
class CassandraLedgerRepositoryTest {
  private static BillingStore store;
  /** Three rows per bucket, so a few rows cross several partitions. */
  private static CassandraLedgerRepository ledger;

  @BeforeAll
  static void start() {
    store = new BillingStore("ledger_test");
    ledger = store.ledger(3);
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  private static LedgerRow row(String tenant, long seq, long charge) {
    return new LedgerRow(tenant, "2026-11", TenantEntity.persistenceIdOf(tenant), seq, "r" + seq, "demo-text", "v1",
        BillingUnit.TOKENS, 20_000, Units.tokens(3, 4), 0, charge, 1_764_000_000_000L);
  }

  private static LedgerReader reader(long first, long last) {
    return new LedgerReader(ledger, (t, m) -> CompletableFuture.completedFuture(
        m.equals("2026-11") ? Optional.of(new SequenceRange(first, last)) : Optional.empty()));
  }

  @Test
  void writingARowTwiceLeavesOneRow() {
    ledger.upsert(row("t1", 1, 140)).toCompletableFuture().join();
    ledger.upsert(row("t1", 1, 140)).toCompletableFuture().join();
    ledger.upsert(row("t1", 2, 60)).toCompletableFuture().join();
    ledger.upsert(row("t2", 1, 999)).toCompletableFuture().join();
    var page = ledger.page("t1", "2026-11", new SequenceRange(1, 2), 1, 10).toCompletableFuture().join();
    assertEquals(List.of(row("t1", 1, 140), row("t1", 2, 60)), page.rows());
    assertTrue(page.nextSequenceNr().isEmpty());
    assertEquals(0, ledger.page("t1", "2026-10", new SequenceRange(1, 2), 1, 10).toCompletableFuture().join()
        .rows().size());
  }

  @Test
  void aCursorWalksEveryRowOnceInOrderAcrossBuckets() {
    // rows 5..21 with gaps (other events of the tenant), over buckets 1..7 of three sequence numbers each
    List<LedgerRow> written = new ArrayList<>();
    for (long seq = 5; seq <= 21; seq++) {
      if (seq % 4 != 0) {
        written.add(row("pager", seq, seq));
      }
    }
    ledger.upsertAll(written).toCompletableFuture().join();
    ledger.upsertAll(written.subList(0, 4)).toCompletableFuture().join();
    LedgerReader reader = reader(5, 21);
    for (int limit : new int[] {1, 2, 3, 5, 1000}) {
      List<LedgerRow> seen = new ArrayList<>();
      Optional<String> cursor = Optional.empty();
      int pages = 0;
      do {
        var page = reader.page("pager", "2026-11", cursor, limit).toCompletableFuture().join();
        assertTrue(page.rows().size() <= limit);
        seen.addAll(page.rows());
        cursor = Optional.ofNullable(page.nextCursor());
        pages++;
      } while (cursor.isPresent() && pages < 100);
      assertEquals(written, seen, "limit " + limit);
    }
  }

  @Test
  void exportsEveryRowAsAStreamOfPages() {
    List<LedgerRow> written = new ArrayList<>();
    for (long seq = 1; seq <= 40; seq++) {
      written.add(row("exporter", seq, 1));
    }
    ledger.upsertAll(written).toCompletableFuture().join();
    var rows = reader(1, 40).rows("exporter", "2026-11", 7).runWith(Sink.seq(), store.testKit.system())
        .toCompletableFuture().join();
    assertEquals(written, rows);
    assertEquals(written, reader(1, 40).collect("exporter", "2026-11", 40, store.testKit.system())
        .toCompletableFuture().join());
    assertThrows(CompletionException.class, () -> reader(1, 40).collect("exporter", "2026-11", 39,
        store.testKit.system()).toCompletableFuture().join(), "more rows than allowed fail instead of growing");
    assertEquals(List.of(), reader(1, 40).rows("exporter", "2026-10", 7).runWith(Sink.seq(), store.testKit.system())
        .toCompletableFuture().join());
  }

  @Test
  void refusesBadPagesAndCursors() {
    LedgerReader reader = reader(1, 10);
    assertThrows(IllegalArgumentException.class, () -> reader.page("t1", "2026-11", Optional.empty(), 0));
    assertThrows(IllegalArgumentException.class, () -> reader.page("t1", "2026-11", Optional.empty(), 1001));
    assertThrows(IllegalArgumentException.class, () -> reader.page("t1", "2026-11", Optional.of("garbage"), 10));
    assertThrows(IllegalArgumentException.class,
        () -> reader.page("t1", "2026-11", Optional.of(LedgerCursor.encode("2026-10", 3)), 10));
    assertThrows(IllegalArgumentException.class, () -> ledger.page("t1", "2026-11", new SequenceRange(1, 2), 1, 0));
    assertThrows(IllegalArgumentException.class, () -> reader.rows("t1", "2026-11", 1001));
    assertThrows(IllegalArgumentException.class, () -> store.ledger(0));
    var empty = reader.page("nobody", "2026-11", Optional.empty(), 10).toCompletableFuture().join();
    assertEquals(0, empty.rows().size());
    assertNull(empty.nextCursor());
  }

  @Test
  void wholePartitionsCoverTheBucketsOfARange() {
    assertEquals(new SequenceRange(1, 8), ledger.wholePartitions(new SequenceRange(2, 7)));
    assertEquals(new SequenceRange(3, 5), ledger.wholePartitions(new SequenceRange(4, 4)));
  }

  @Test
  void refusesKeyspaceNamesThatCouldInjectCql() {
    assertThrows(IllegalArgumentException.class, () -> new CassandraLedgerRepository(null, "x; DROP TABLE y"));
  }
}
