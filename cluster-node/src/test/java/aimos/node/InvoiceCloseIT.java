package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.invoice.InvoiceClose;
import aimos.billing.ledger.LedgerRow;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The automatic invoice close on a two-node cluster with real usage: the periodic run happens on the oldest node only;
 * runs taken as of a time after this month's grace period, on both nodes at once and then again, finalize exactly one
 * invoice per tenant-month with gapless numbers and one {@code invoice.finalized} webhook; a tenant whose ledger lost a
 * row (deleted with CQL) is not finalized until reconciliation repairs it.
 */
class InvoiceCloseIT {
  private static final String MONTH = YearMonth.now(ZoneOffset.UTC).toString();
  /** The first instant at which this month and the default grace period (3 days) have ended. */
  private static final Instant CLOSED = YearMonth.now(ZoneOffset.UTC).plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC)
      .toInstant().plus(Duration.ofDays(3));
  private static TestCluster cluster;
  private static HttpServer receiver;
  private static String endpoint;
  private static final List<JsonNode> received = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(2, """
        aimos.webhooks.allow-private-targets = on
        aimos.webhooks.poll-interval = 200ms
        aimos.billing.reconcile-grace = 0s
        aimos.billing.reconcile-interval = 0s
        aimos.billing.invoice-close-interval = 500ms
        """);
    receiver = Http.jsonReceiver(received);
    Http.textModel(cluster, "close-text");
    cluster.awaitWorkerReady("close-text", "v1");
    String keyA = Http.tenantWithKey(cluster, "close-a", 1000, 8);
    String keyB = Http.tenantWithKey(cluster, "close-b", 1000, 8);
    String keyC = Http.tenantWithKey(cluster, "close-c", 1000, 8);
    Http.Reply hook = Http.admin(cluster, "POST", "/admin/tenants/close-a/webhooks", "{\"url\": \"http://127.0.0.1:"
        + receiver.getAddress().getPort() + "/hook\", \"eventTypes\": [\"invoice.finalized\"]}");
    assertEquals(201, hook.status(), hook.body());
    endpoint = hook.json().get("endpoint").get("id").asText();
    var client = cluster.client(0);
    for (int i = 0; i < 3; i++) {
      TestCluster.infer(client, keyA, "close-text", "close-a-" + i, "close the month " + i);
    }
    for (int i = 0; i < 2; i++) {
      TestCluster.infer(client, keyB, "close-text", "close-b-" + i, "close the month " + i);
      TestCluster.infer(client, keyC, "close-text", "close-c-" + i, "close the month " + i);
    }
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      assertEquals(3, cluster.ledgerRows("close-a", MONTH).size());
      assertEquals(2, cluster.ledgerRows("close-b", MONTH).size());
      assertEquals(2, cluster.ledgerRows("close-c", MONTH).size());
      return null;
    });
    // C's ledger loses a row, as when the projection misses an event: its journal no longer reconciles
    LedgerRow lost = cluster.ledgerRows("close-c", MONTH).get(1);
    var node = cluster.nodes.get(0);
    CassandraSessionRegistry.get(node.system())
        .sessionFor(CassandraSessionSettings.create("pekko.projection.cassandra.session-config"))
        .executeWrite("DELETE FROM " + node.settings().billingKeyspace() + ".ledger_rows WHERE tenant_id = ? AND "
            + "month = ? AND bucket = 0 AND persistence_id = ? AND sequence_nr = ?", "close-c", MONTH,
            lost.persistenceId(), lost.sequenceNr())
        .toCompletableFuture().join();
  }

  @AfterAll
  static void stop() {
    if (receiver != null) {
      receiver.stop(0);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private static String metrics(int node) {
    return Http.call("GET", cluster.managementPort(node), "/metrics", null, null).body();
  }

  private static double sample(String metrics, String name) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + " ")) {
        return Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    throw new AssertionError("no sample " + name + " in\n" + metrics);
  }

  private static InvoiceClose.Outcome run(int node) throws Exception {
    return cluster.nodes.get(node).invoiceClose().runAsOf(CLOSED).toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  /** The tenant's invoice rows of this month as the admin API lists them: status and number. */
  private static List<String> invoices(String tenant) {
    Http.Reply r = Http.admin(cluster, "GET", "/admin/tenants/" + tenant + "/invoices", null);
    assertEquals(200, r.status(), r.body());
    List<String> out = new ArrayList<>();
    for (JsonNode i : r.json()) {
      if (i.get("month").asText().equals(MONTH)) {
        out.add(i.get("status").asText() + (i.hasNonNull("number") ? " " + i.get("number").asText() : ""));
      }
    }
    return out;
  }

  private static long finalizedEventsOf(String number) {
    synchronized (received) {
      return received.stream().filter(e -> e.path("data").path("number").asText().equals(number)).count();
    }
  }

  @Test
  void closesEachClosedTenantMonthOnceOnOneNodeAndLeavesAnUnreconciledOneUntilRepaired() throws Exception {
    // the periodic run (this month is open, so it finalizes nothing) happens on the oldest node only
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      assertTrue(sample(metrics(0), "aimos_invoice_close_runs_total") >= 2, metrics(0));
      return null;
    });
    assertEquals(0.0, sample(metrics(1), "aimos_invoice_close_runs_total"));
    assertEquals(List.of(), invoices("close-a"));
    Http.Reply now = Http.admin(cluster, "POST", "/admin/invoices/close", null);
    assertEquals(200, now.status(), now.body());
    assertEquals(0, now.json().get("finalized").asInt(), now.body());
    assertEquals(0, now.json().get("closedMonths").asInt(), now.body());
    assertEquals(405, Http.admin(cluster, "GET", "/admin/invoices/close", null).status());

    // as of after the grace period, on both nodes at once
    CompletableFuture<InvoiceClose.Outcome> on0 = CompletableFuture.supplyAsync(() -> call(0));
    CompletableFuture<InvoiceClose.Outcome> on1 = CompletableFuture.supplyAsync(() -> call(1));
    List<InvoiceClose.Outcome> both = List.of(on0.get(90, TimeUnit.SECONDS), on1.get(90, TimeUnit.SECONDS));
    long finalized = 0;
    for (InvoiceClose.Outcome o : both) {
      assertEquals(3, o.closedMonths(), o.toString());
      for (InvoiceClose.Attempt a : o.attempts()) {
        if (a.tenantId().equals("close-c")) {
          assertEquals(InvoiceClose.Result.UNRECONCILED, a.result(), a.toString());
          assertEquals(1L, ((Number) a.details().get("missing")).longValue(), a.toString());
        } else {
          assertTrue(a.result() == InvoiceClose.Result.FINALIZED
              || a.result() == InvoiceClose.Result.ALREADY_FINALIZED, a.toString());
          finalized += a.result() == InvoiceClose.Result.FINALIZED ? 1 : 0;
        }
      }
    }
    assertEquals(2, finalized, both.toString());
    List<String> a = invoices("close-a");
    List<String> b = invoices("close-b");
    assertEquals(1, a.size(), a.toString());
    assertEquals(1, b.size(), b.toString());
    assertTrue(a.get(0).startsWith("finalized AIMOS-"), a.toString());
    assertTrue(b.get(0).startsWith("finalized AIMOS-"), b.toString());
    assertEquals(List.of("draft"), invoices("close-c"), "not finalized while its ledger misses a row");
    String numberA = a.get(0).substring("finalized ".length());
    JsonNode invoiceA = Http.admin(cluster, "GET", "/admin/invoices/" + numberA, null).json();
    assertEquals(3, invoiceA.get("requests").asInt(), invoiceA.toString());
    // node 1 has no periodic run that could reset its gauge meanwhile
    assertTrue(metrics(1).contains("aimos_invoices_awaiting_close{reason=\"unreconciled\",} 1.0"), metrics(1));

    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      assertEquals(1, finalizedEventsOf(numberA), received.toString());
      return null;
    });

    // again: nothing changes for A and B; C is still refused
    InvoiceClose.Outcome again = run(0);
    assertEquals(2, again.invoiced(), again.toString());
    assertEquals(1, again.attempts().size(), again.toString());
    assertEquals(InvoiceClose.Result.UNRECONCILED, again.attempts().get(0).result());
    assertEquals(a, invoices("close-a"));
    assertEquals(b, invoices("close-b"));

    // once reconciliation repairs C's ledger, the next run finalizes it with the next number
    Http.Reply repair = Http.admin(cluster, "POST", "/admin/reconciliation?tenant=close-c&repair=true", null);
    assertEquals(200, repair.status(), repair.body());
    assertEquals(1, repair.json().get("repaired").asInt(), repair.body());
    InvoiceClose.Outcome repaired = run(1);
    assertEquals(1, repaired.count(InvoiceClose.Result.FINALIZED), repaired.toString());
    assertEquals(List.of(), repaired.awaiting());
    List<String> c = invoices("close-c");
    assertEquals(1, c.size(), c.toString());
    assertTrue(c.get(0).startsWith("finalized AIMOS-"), c.toString());
    assertTrue(metrics(1).contains("aimos_invoices_awaiting_close{reason=\"unreconciled\",} 0.0"), metrics(1));

    Set<Integer> sequence = new TreeSet<>();
    for (String s : List.of(a.get(0), b.get(0), c.get(0))) {
      sequence.add(Integer.parseInt(s.substring(s.lastIndexOf('-') + 1)));
    }
    assertEquals(Set.of(1, 2, 3), sequence, "gapless, one number per tenant-month");

    // A's invoice was announced once: one delivery to its endpoint, one request received
    JsonNode deliveries = Http.admin(cluster, "GET", "/admin/tenants/close-a/webhooks/" + endpoint + "/deliveries",
        null).json();
    assertEquals(1, deliveries.size(), deliveries.toString());
    assertEquals(1, finalizedEventsOf(numberA), received.toString());
    assertEquals(1, received.size(), received.toString());
  }

  private static InvoiceClose.Outcome call(int node) {
    try {
      return run(node);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
