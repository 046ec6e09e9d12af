package aimos.billing.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import aimos.api.v1.BillingUnit;
import aimos.cassandra.SharedCassandra;
import aimos.tenant.Units;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The ledger table on a real Cassandra. */
class CassandraLedgerRepositoryTest {
  private static ActorTestKit testKit;
  private static CassandraLedgerRepository ledger;
  private static final String KEYSPACE = "ledger_test_" + System.currentTimeMillis();

  @BeforeAll
  static void start() {
    String contact = SharedCassandra.contactPoint();
    testKit = ActorTestKit.create(ConfigFactory.parseString("""
        datastax-java-driver.basic.contact-points = ["%s"]
        datastax-java-driver.basic.load-balancing-policy.local-datacenter = "datacenter1"
        datastax-java-driver.basic.request.timeout = 10s
        """.formatted(contact)).withFallback(ConfigFactory.load()));
    CassandraSession session = CassandraSessionRegistry.get(testKit.system())
        .sessionFor(CassandraSessionSettings.create("pekko.projection.cassandra.session-config"));
    CassandraLedgerRepository.createTables(session, KEYSPACE).toCompletableFuture().join();
    ledger = new CassandraLedgerRepository(session, KEYSPACE);
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static LedgerRow row(String tenant, long seq, long charge) {
    return new LedgerRow(tenant, "2026-11", "Tenant|" + tenant, seq, "r" + seq, "demo-text", "v1", BillingUnit.TOKENS,
        20_000, Units.tokens(3, 4), 0, charge, 1_764_000_000_000L);
  }

  @Test
  void writingARowTwiceLeavesOneRow() {
    ledger.upsert(row("t1", 1, 140)).toCompletableFuture().join();
    ledger.upsert(row("t1", 1, 140)).toCompletableFuture().join();
    ledger.upsert(row("t1", 2, 60)).toCompletableFuture().join();
    ledger.upsert(row("t2", 1, 999)).toCompletableFuture().join();

    var rows = ledger.rows("t1", "2026-11").toCompletableFuture().join();
    assertEquals(2, rows.size());
    assertEquals(row("t1", 1, 140), rows.get(0));
    var report = ledger.usage("t1", "2026-11").toCompletableFuture().join();
    assertEquals(200, report.chargeMicros());
    assertEquals(2, report.requests());
    assertEquals(0, ledger.rows("t1", "2026-10").toCompletableFuture().join().size());
  }

  @Test
  void writesManyRowsOverSeveralPartitionsInBatches() {
    java.util.List<LedgerRow> rows = new java.util.ArrayList<>();
    for (int i = 1; i <= 120; i++) {
      rows.add(row("batch-a", i, i));
      if (i <= 7) {
        rows.add(row("batch-b", i, 1000));
      }
    }
    ledger.upsertAll(rows).toCompletableFuture().join();
    ledger.upsertAll(rows.subList(0, 30)).toCompletableFuture().join();
    var a = ledger.usage("batch-a", "2026-11").toCompletableFuture().join();
    assertEquals(120, a.requests());
    assertEquals(120 * 121 / 2, a.chargeMicros());
    assertEquals(7000, ledger.usage("batch-b", "2026-11").toCompletableFuture().join().chargeMicros());
  }

  @Test
  void refusesKeyspaceNamesThatCouldInjectCql() {
    assertThrows(IllegalArgumentException.class, () -> new CassandraLedgerRepository(null, "x; DROP TABLE y"));
  }
}
