package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.ledger.LedgerRow;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ledger loses rows (as a restore from an older backup can lose them) and one is mispriced: the
 * reconciliation finds exactly those against the journal, repairs them, and then reads 0 missing and 0 double.
 * A row that no event explains is flagged, never deleted. Rollup rows that are corrupted, missing or that no event
 * explains are found and rewritten from the journal, and a repair never changes a row that is right.
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
    // pages come in sequence order
    return cluster.ledgerRows(tenant, MONTH);
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
    session.executeWrite(statement.replace("LEDGER", keyspace + ".ledger_rows")
        .replace("DAILY", keyspace + ".usage_daily").replace("HOURLY", keyspace + ".usage_hourly"), values)
        .toCompletableFuture().join();
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
      cql("DELETE FROM LEDGER WHERE tenant_id = ? AND month = ? AND bucket = 0 AND persistence_id = ? "
          + "AND sequence_nr = ?", "gappy", MONTH, lost.persistenceId(), lost.sequenceNr());
    }
    cql("UPDATE LEDGER SET charge_micros = 1 WHERE tenant_id = ? AND month = ? AND bucket = 0 AND persistence_id = ? "
        + "AND sequence_nr = ?", "gappy", MONTH, wrong.persistenceId(), wrong.sequenceNr());
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
    cql("INSERT INTO LEDGER (tenant_id, month, bucket, persistence_id, sequence_nr, request_id, model, version, "
            + "billing_unit, unit_price_micros, prompt_tokens, completion_tokens, images, audio_millis, "
            + "month_tokens_before, charge_micros, recorded_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "phantom", MONTH, copy.persistenceId(), 9999L, copy.requestId(), copy.model(), copy.version(),
        copy.unit().name(), copy.unitPriceMicros(), copy.units().promptTokens(), copy.units().completionTokens(), 0L, 0L,
        0L, copy.chargeMicros(), java.time.Instant.ofEpochMilli(copy.recordedAtMillis()));

    var all = reconcile("?repair=true").json();
    assertTrue(all.get("tenants").asInt() >= 1);
    assertEquals(1, all.get("withoutEvent").asInt(), all.toString());
    assertEquals(1, all.get("billedTwice").asInt(), all.toString());
    // the phantom lies beyond the month's range of events, so pages do not show it; it is still stored
    assertEquals(2, rows("phantom").size());
    assertEquals(3, session.selectAll("SELECT sequence_nr FROM " + keyspace + ".ledger_rows WHERE tenant_id = ? "
        + "AND month = ? AND bucket = 0", "phantom", MONTH).toCompletableFuture().join().size(), "flagged, not deleted");
  }

  @Test
  void findsAndRepairsWrongRollupRows() {
    String key = Http.tenantWithKey(cluster, "rolled", 1000, 8);
    billedRequests("rolled", key, 4);
    String day = java.time.LocalDate.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      assertEquals(4, usage("rolled").get("requests").asLong());
      return null;
    });
    var before = usage("rolled");
    var hours = session.selectAll("SELECT hour, model, version FROM " + keyspace + ".usage_hourly WHERE tenant_id = ? "
        + "AND day = ?", "rolled", day).toCompletableFuture().join();
    // a corrupted day row, a lost hour row, and a row that no event explains
    cql("UPDATE DAILY SET charge_micros = 1, requests = 99 WHERE tenant_id = ? AND month = ? AND day = ? "
        + "AND model = ? AND version = ?", "rolled", MONTH, day, "recon-text", "v1");
    for (var h : hours) {
      cql("DELETE FROM HOURLY WHERE tenant_id = ? AND day = ? AND hour = ? AND model = ? AND version = ?",
          "rolled", day, h.getInt("hour"), h.getString("model"), h.getString("version"));
    }
    cql("INSERT INTO DAILY (tenant_id, month, day, model, version, requests, prompt_tokens, completion_tokens, images, "
        + "audio_millis, charge_micros, requests_over_100ms, first_sequence_nr, last_sequence_nr, revision) "
        + "VALUES (?, ?, ?, 'ghost', 'v1', 1, 1, 1, 0, 0, 5, 0, 3, 3, 1)", "rolled", MONTH, day);
    assertEquals(99 + 1, usage("rolled").get("requests").asLong());

    var check = reconcile("?tenant=rolled&repair=false").json();
    assertEquals(1 + hours.size() + 1, check.get("rollupsWrong").asInt(), check.toString());
    assertEquals(0, check.get("rollupsRepaired").asInt(), check.toString());
    assertEquals(0, check.get("missing").asInt(), "the ledger is intact: " + check);
    assertEquals(100, usage("rolled").get("requests").asLong(), "a check writes nothing");

    var repair = reconcile("?tenant=rolled&repair=true").json();
    assertEquals(1 + hours.size() + 1, repair.get("rollupsRepaired").asInt(), repair.toString());
    assertEquals(0, repair.get("remainingRollupsWrong").asInt(), repair.toString());
    assertEquals(before, usage("rolled"));
    var hourly = Http.admin(cluster, "GET", "/admin/tenants/rolled/usage/hourly?day=" + day, null).json();
    assertEquals(4, java.util.stream.StreamSupport.stream(hourly.spliterator(), false)
        .mapToLong(p -> p.get("requests").asLong()).sum(), hourly.toString());
    assertEquals(0, reconcile("?tenant=rolled").json().get("rollupsRepaired").asInt(), "a right row is left alone");
  }

  private static com.fasterxml.jackson.databind.JsonNode usage(String tenant) {
    Http.Reply r = Http.admin(cluster, "GET", "/admin/tenants/" + tenant + "/usage?month=" + MONTH, null);
    assertEquals(200, r.status(), r.body());
    return r.json();
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
