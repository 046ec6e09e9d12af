package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.Money;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One price per request: a price list added mid-month takes effect at its effective time; usage recorded before it
 * keeps its charge to the micro-dollar through the projection, a repairing reconciliation and usage reads, and usage
 * recorded after it is priced by the new list (the model's new unit price and the new list's volume discount).
 */
class PriceChangeIT {
  private static TestCluster cluster;
  private static final String MONTH = YearMonth.now(ZoneOffset.UTC).toString();
  private static final String MODEL = "price-text";
  /** Price list 2: the model at $0.05 per 1,000 tokens, and 20% off every token (threshold 0). */
  private static final PriceCatalog NEW_DISCOUNT = new PriceCatalog(30_000, 10_000, 100_000, 0, 20);

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, """
        aimos.billing.reconcile-grace = 0s
        aimos.billing.reconcile-interval = 0s
        aimos.billing.price-change-lead = 1500ms
        aimos.billing.price-refresh-interval = 200ms
        """);
    Http.textModel(cluster, MODEL);
    cluster.awaitWorkerReady(MODEL, "v1");
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static List<LedgerRow> rows(String tenant) {
    // pages come in sequence order
    return cluster.ledgerRows(tenant, MONTH);
  }

  private static List<String> infer(String key, String prefix, int n) {
    List<String> charges = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      charges.add(TestCluster.infer(cluster.client(0), key, MODEL, prefix + i, "what does request " + prefix + i
          + " cost?").getUsage().getChargeUsd());
    }
    return charges;
  }

  private static void awaitRows(String tenant, int n) {
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      assertEquals(n, rows(tenant).size());
      return null;
    });
  }

  private static String priceList(Instant effectiveFrom) {
    return """
        {"effectiveFrom": "%s", "tokensPer1kUsd": "0.03", "imageUsd": "0.01", "audioMinuteUsd": "0.10",
         "volumeDiscount": {"thresholdTokens": 0, "percent": 20}, "models": {"%s": "0.05"}}"""
        .formatted(effectiveFrom.truncatedTo(java.time.temporal.ChronoUnit.MILLIS), MODEL);
  }

  @Test
  void aPriceChangeMidMonthMovesNothingBilledBeforeItByAMicroDollar() {
    String tenant = "repriced";
    String key = Http.tenantWithKey(cluster, tenant, 1000, 8);
    List<String> chargedBefore = infer(key, "before-", 3);
    awaitRows(tenant, 3);
    List<LedgerRow> before = rows(tenant);
    for (int i = 0; i < 3; i++) {
      LedgerRow r = before.get(i);
      assertEquals(20_000, r.unitPriceMicros(), "the version's own price under list 1");
      assertEquals(PriceCatalog.seed().chargeMicros(BillingUnit.TOKENS, 20_000, r.units(), r.monthTokensBefore()),
          r.chargeMicros());
      assertEquals(chargedBefore.get(i), Money.format(r.chargeMicros()), "the caller was told the billed charge");
    }

    // too soon for every node to know it, or not after the latest list: refused, and nothing changes
    var tooSoon = Http.admin(cluster, "POST", "/admin/prices", priceList(Instant.now().plusMillis(200)));
    assertEquals(400, tooSoon.status(), tooSoon.body());
    assertTrue(tooSoon.body().contains("too soon"), tooSoon.body());
    assertEquals(1, Http.admin(cluster, "GET", "/admin/prices", null).json().get("version").asInt());

    Instant effective = Instant.now().plusSeconds(4).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    var added = Http.admin(cluster, "POST", "/admin/prices", priceList(effective));
    assertEquals(201, added.status(), added.body());
    assertEquals(2, added.json().get("id").asInt());
    assertEquals("0.050000", added.json().get("models").get(MODEL).asText());
    var again = Http.admin(cluster, "POST", "/admin/prices", priceList(effective));
    assertEquals(400, again.status());
    assertTrue(again.body().contains("later than the latest price list's (id 2"), again.body());

    // usage recorded after the list was added but (normally) before it takes effect: priced by the list in force at
    // its recording instant
    List<String> chargedJustBefore = infer(key, "just-before-", 1);
    awaitRows(tenant, 4);
    LedgerRow justBefore = rows(tenant).get(3);
    assertEquals(justBefore.recordedAtMillis() < effective.toEpochMilli() ? 20_000 : 50_000,
        justBefore.unitPriceMicros(), justBefore.toString());
    assertEquals(chargedJustBefore.get(0), Money.format(justBefore.chargeMicros()));

    // wait until the node says list 2 is in force and its own copy has it
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(100), () -> {
      var prices = Http.admin(cluster, "GET", "/admin/prices", null).json();
      assertEquals(2, prices.get("inForce").asInt(), prices.toString());
      assertEquals(2, prices.get("node").get("version").asInt(), prices.toString());
      assertTrue(prices.get("lists").get(1).get("inForce").asBoolean());
      return null;
    });
    List<String> chargedAfter = infer(key, "after-", 3);
    awaitRows(tenant, 7);
    List<LedgerRow> all = rows(tenant);
    assertEquals(before, all.subList(0, 3), "rows billed before the change are untouched");
    for (int i = 4; i < 7; i++) {
      LedgerRow r = all.get(i);
      assertTrue(r.recordedAtMillis() >= effective.toEpochMilli());
      assertEquals(50_000, r.unitPriceMicros(), "the model's price in list 2");
      long expected = NEW_DISCOUNT.chargeMicros(BillingUnit.TOKENS, 50_000, r.units(), r.monthTokensBefore());
      assertEquals(expected, r.chargeMicros(), r.toString());
      assertEquals(chargedAfter.get(i - 4), Money.format(expected));
    }

    // the reconciliation finds nothing to reprice, and a repairing run moves nothing
    var check = Http.admin(cluster, "POST", "/admin/reconciliation?tenant=" + tenant + "&repair=true", null).json();
    assertEquals(0, check.get("repaired").asInt(), check.toString());
    assertEquals(0, check.get("mispriced").asInt(), check.toString());
    assertEquals(0, check.get("remainingMissing").asInt(), check.toString());
    assertEquals(all, rows(tenant), "not one micro-dollar moved");

    // a row lost from the ledger is written again with the charge its event recorded, not with today's prices
    LedgerRow lost = all.get(1);
    var session = org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry
        .get(cluster.nodes.get(0).system()).sessionFor(org.apache.pekko.stream.connectors.cassandra
            .CassandraSessionSettings.create("pekko.projection.cassandra.session-config"));
    session.executeWrite("DELETE FROM " + cluster.nodes.get(0).settings().billingKeyspace() + ".ledger_rows WHERE "
            + "tenant_id = ? AND month = ? AND bucket = ? AND persistence_id = ? AND sequence_nr = ?", tenant, MONTH,
        lost.sequenceNr() / 100_000, lost.persistenceId(), lost.sequenceNr()).toCompletableFuture().join();
    var repair = Http.admin(cluster, "POST", "/admin/reconciliation?tenant=" + tenant + "&repair=true", null).json();
    assertEquals(1, repair.get("repaired").asInt(), repair.toString());
    assertEquals(all, rows(tenant), "the repaired row has its original charge");

    long total = all.stream().mapToLong(LedgerRow::chargeMicros).sum();
    assertEquals(total, cluster.nodes.get(0).usage().report(tenant, MONTH).toCompletableFuture().join()
        .chargeMicros());
    var summary = Http.admin(cluster, "GET", "/admin/tenants/" + tenant, null).json();
    assertEquals(Money.format(total), summary.get("monthSpendUsd").asText());
  }

  @Test
  void refusesBadPriceListsWithAPreciseReasonAndChangesNothing() {
    int version = Http.admin(cluster, "GET", "/admin/prices", null).json().get("version").asInt();
    List<String[]> bad = List.of(
        new String[] {"{}", "effectiveFrom"},
        new String[] {priceList(Instant.now().plusSeconds(3600)).replace("\"0.05\"", "\"-0.05\""), "negative"},
        new String[] {priceList(Instant.now().plusSeconds(3600)).replace("\"0.05\"", "\"0.0000001\""), "six decimals"},
        new String[] {priceList(Instant.now().plusSeconds(3600)).replace("\"0.03\"", "0.03"), "tokensPer1kUsd"},
        new String[] {priceList(Instant.now().plusSeconds(3600)).replace("\"percent\": 20", "\"percent\": 101"),
            "volumeDiscount.percent"},
        new String[] {priceList(Instant.now().plusSeconds(3600)).replace(MODEL, "Not A Model"), "model name"},
        new String[] {priceList(Instant.now().plusSeconds(3600)).replace("\"models\"", "\"model\""), "unknown field"},
        new String[] {"{\"effectiveFrom\": \"tomorrow\"}", "effectiveFrom must be an instant"},
        new String[] {"[1]", "JSON object"});
    for (String[] b : bad) {
      var reply = Http.admin(cluster, "POST", "/admin/prices", b[0]);
      assertEquals(400, reply.status(), b[0] + " -> " + reply.body());
      assertTrue(reply.body().contains(b[1]), b[0] + " -> " + reply.body());
    }
    assertEquals(401, Http.call("POST", cluster.managementPort(0), "/admin/prices", null,
        priceList(Instant.now().plusSeconds(3600))).status());
    assertEquals(401, Http.call("GET", cluster.managementPort(0), "/admin/prices", null, null).status());
    assertEquals(version, Http.admin(cluster, "GET", "/admin/prices", null).json().get("version").asInt());
  }
}
