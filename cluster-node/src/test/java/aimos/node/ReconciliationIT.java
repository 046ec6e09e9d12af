package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.ledger.LedgerRow;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ledger loses rows (as a projection can when eventsByTag misses a late event) and one is mispriced: the
 * reconciliation finds exactly those against the journal, repairs them, and then reads 0 missing and 0 double.
 * A row that no event explains is flagged, never deleted.
 */
class ReconciliationIT {
  private static TestCluster cluster;
  private static CassandraSession session;
  private static String keyspace;
  private static final String MONTH = YearMonth.now(ZoneOffset.UTC).toString();

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, """
        aimos.billing.reconcile-grace = 0s
        aimos.billing.reconcile-interval = 0s
        """);
    var node = cluster.nodes.get(0);
    session = CassandraSessionRegistry.get(node.system())
        .sessionFor(CassandraSessionSettings.create("pekko.projection.cassandra.session-config"));
    keyspace = node.settings().billingKeyspace();
    Http.textModel(cluster, "recon-text");
    cluster.awaitWorkerReady("recon-text", "v1");
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static List<LedgerRow> rows(String tenant) {
    return cluster.nodes.get(0).ledger().rows(tenant, MONTH).toCompletableFuture().join().stream()
        .sorted(Comparator.comparingLong(LedgerRow::sequenceNr)).toList();
  }

  private static List<LedgerRow> billedRequests(String tenant, String key, int n) {
    var client = cluster.client(0);
    for (int i = 0; i < n; i++) {
      TestCluster.infer(client, key, "recon-text", tenant + "-" + i, "reconcile request " + i);
    }
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      assertEquals(n, rows(tenant).size());
      return null;
    });
    return rows(tenant);
  }

  private static void cql(String statement, Object... values) {
    session.executeWrite(statement.replace("LEDGER", keyspace + ".ledger"), values).toCompletableFuture().join();
  }

  private static Http.Reply reconcile(String query) {
    return Http.admin(cluster, "POST", "/admin/reconciliation" + query, null);
  }

  @Test
  void findsAndRepairsMissingAndMispricedRowsThenReadsClean() {
    String key = Http.tenantWithKey(cluster, "gappy", 1000, 8);
    List<LedgerRow> before = billedRequests("gappy", key, 6);
    LedgerRow lost1 = before.get(1);
    LedgerRow lost2 = before.get(4);
    LedgerRow wrong = before.get(2);
    for (LedgerRow lost : List.of(lost1, lost2)) {
      cql("DELETE FROM LEDGER WHERE tenant_id = ? AND month = ? AND persistence_id = ? AND sequence_nr = ?",
          "gappy", MONTH, lost.persistenceId(), lost.sequenceNr());
    }
    cql("UPDATE LEDGER SET charge_micros = 1 WHERE tenant_id = ? AND month = ? AND persistence_id = ? AND sequence_nr = ?",
        "gappy", MONTH, wrong.persistenceId(), wrong.sequenceNr());
    assertEquals(4, rows("gappy").size());

    var check = reconcile("?tenant=gappy&repair=false").json();
    assertEquals(2, check.get("missing").asInt(), check.toString());
    assertEquals(1, check.get("mispriced").asInt(), check.toString());
    assertEquals(0, check.get("repaired").asInt());
    var found = check.get("found").get(0);
    assertEquals(List.of(lost1.sequenceNr(), lost2.sequenceNr()),
        List.of(found.get("missing").get(0).asLong(), found.get("missing").get(1).asLong()));
    assertEquals(4, rows("gappy").size(), "a check writes nothing");

    var repair = reconcile("?tenant=gappy&repair=true").json();
    assertEquals(3, repair.get("repaired").asInt(), repair.toString());
    assertEquals(0, repair.get("remainingMissing").asInt(), repair.toString());
    assertEquals(0, repair.get("billedTwice").asInt(), repair.toString());
    assertEquals(0, repair.get("withoutEvent").asInt(), repair.toString());
    assertEquals(before, rows("gappy"), "exactly the rows the projection wrote, no more");

    // repairing again is harmless
    assertEquals(0, reconcile("?tenant=gappy").json().get("repaired").asInt());
    assertTrue(Http.call("GET", cluster.managementPort(0), "/metrics", null, null).body()
        .contains("aimos_reconciliation_repaired_rows_total 3.0"));
  }

  @Test
  void flagsARowThatNoEventExplainsWithoutDeletingIt() {
    String key = Http.tenantWithKey(cluster, "phantom", 1000, 8);
    List<LedgerRow> before = billedRequests("phantom", key, 2);
    LedgerRow copy = before.get(0);
    cql("INSERT INTO LEDGER (tenant_id, month, persistence_id, sequence_nr, request_id, model, version, billing_unit, "
            + "unit_price_micros, prompt_tokens, completion_tokens, images, audio_millis, month_tokens_before, "
            + "charge_micros, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "phantom", MONTH, copy.persistenceId(), 9999L, copy.requestId(), copy.model(), copy.version(),
        copy.unit().name(), copy.unitPriceMicros(), copy.units().promptTokens(), copy.units().completionTokens(), 0L, 0L,
        0L, copy.chargeMicros(), java.time.Instant.ofEpochMilli(copy.recordedAtMillis()));

    var all = reconcile("?repair=true").json();
    assertTrue(all.get("tenants").asInt() >= 1);
    assertEquals(1, all.get("withoutEvent").asInt(), all.toString());
    assertEquals(1, all.get("billedTwice").asInt(), all.toString());
    assertEquals(3, rows("phantom").size(), "flagged, not deleted");
  }

  @Test
  void refusesBadParameters() {
    assertEquals(400, reconcile("?tenant=Not_A_Tenant").status());
    var badRepair = reconcile("?repair=maybe");
    assertEquals(400, badRepair.status());
    assertTrue(badRepair.body().contains("repair must be true or false"));
    assertEquals(401, Http.call("POST", cluster.managementPort(0), "/admin/reconciliation", null, null).status());
  }
}
