package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Invoices and credit notes over real HTTP on a three-node cluster with real usage: drafts from the rollups and ledger,
 * finalization (concurrently through all three nodes), the webhook events, renderings, refusals, credit notes, and the tenants' own
 * {@code /v1/billing} routes, where one tenant's key never reads another's invoice.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InvoicesIT {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final String MONTH = YearMonth.now(ZoneOffset.UTC).toString();
  private static TestCluster cluster;
  private static String keyA;
  private static String keyB;
  private static String numberA;
  private static HttpServer receiver;
  private static final List<JsonNode> received = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(3, "aimos.webhooks.allow-private-targets = on\naimos.webhooks.poll-interval = 200ms");
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    receiver.createContext("/hook", ex -> {
      received.add(new ObjectMapper().readTree(ex.getRequestBody().readAllBytes()));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    receiver.start();
    Http.textModel(cluster, "inv-text");
    cluster.awaitWorkerReady("inv-text", "v1");
    keyA = Http.tenantWithKey(cluster, "inv-a", 1000, 8);
    keyB = Http.tenantWithKey(cluster, "inv-b", 1000, 8);
    Http.Reply hook = admin("POST", "/admin/tenants/inv-a/webhooks", "{\"url\": \"http://127.0.0.1:"
        + receiver.getAddress().getPort() + "/hook\", \"eventTypes\": [\"invoice.finalized\", "
        + "\"credit_note.created\"]}");
    assertEquals(201, hook.status(), hook.body());
    var client = cluster.client(0);
    for (int i = 0; i < 5; i++) {
      TestCluster.infer(client, keyA, "inv-text", "inv-a-" + i, "invoice me please " + i);
    }
    TestCluster.infer(client, keyB, "inv-text", "inv-b-0", "other tenant");
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      assertEquals(5, admin("GET", "/admin/tenants/inv-a/usage?month=" + MONTH, null).json().get("requests").asInt());
      assertEquals(5, cluster.ledgerRows("inv-a", MONTH).size());
      assertEquals(1, cluster.ledgerRows("inv-b", MONTH).size());
      return null;
    });
  }

  @AfterAll
  static void stop() {
    receiver.stop(0);
    cluster.close();
  }

  private static Http.Reply admin(String method, String path, String body) {
    return Http.call(method, cluster.managementPort(0), path, TestCluster.ADMIN_TOKEN, body);
  }

  private static Http.Reply adminVia(int node, String method, String path) {
    return Http.call(method, cluster.managementPort(node), path, TestCluster.ADMIN_TOKEN, null);
  }

  private static HttpResponse<byte[]> get(int port, String path, String token, String accept) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (accept != null) {
      b.header("Accept", accept);
    }
    try {
      return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (Exception e) {
      throw new AssertionError("GET " + path + " failed: " + e, e);
    }
  }

  private static Http.Reply tenant(String path, String key) {
    HttpResponse<byte[]> r = get(cluster.nodes.get(0).gatewayPort(), path, key, null);
    return new Http.Reply(r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
  }

  @Test
  @Order(1)
  void aDraftIsTheMonthsUsageAndFinalizingGivesItANumber() {
    Http.Reply draft = admin("POST", "/admin/tenants/inv-a/invoices/" + MONTH + "/draft", null);
    assertEquals(200, draft.status(), draft.body());
    JsonNode d = draft.json();
    assertEquals("DRAFT-inv-a-" + MONTH, d.get("id").asText());
    assertEquals("draft", d.get("status").asText());
    assertEquals(5, d.get("requests").asLong());
    long charged = admin("GET", "/admin/tenants/inv-a/usage?month=" + MONTH, null).json().get("chargeMicros")
        .asLong();
    // a slow host may push some of these five requests over 100 ms: the month then earns an SLA credit
    JsonNode sla = admin("GET", "/admin/tenants/inv-a/sla?month=" + MONTH, null).json();
    assertEquals(5, sla.get("eligibleRequests").asLong());
    long credit = micros(sla.get("creditUsd").asText());
    assertEquals(sla.get("breached").asBoolean(), credit > 0, sla.toString());
    long usage = charged - credit;
    assertEquals(usage, d.get("totalMicros").asLong());
    long sum = 0;
    for (JsonNode l : d.get("lines")) {
      sum += l.get("amountMicros").asLong();
    }
    assertEquals(usage, sum, "the lines sum to the total");
    assertEquals(-credit, micros(d.get("slaCreditUsd").asText()));

    // the month is still open: finalizing now needs early=true; nothing is numbered by the refusal
    Http.Reply open = admin("POST", "/admin/invoices/DRAFT-inv-a-" + MONTH + "/finalize", null);
    assertEquals(409, open.status(), open.body());
    assertTrue(open.json().get("error").get("details").has("openUntil"), open.body());

    Http.Reply fin = admin("POST", "/admin/invoices/DRAFT-inv-a-" + MONTH + "/finalize?early=true", null);
    assertEquals(200, fin.status(), fin.body());
    numberA = fin.json().get("number").asText();
    assertTrue(numberA.matches("AIMOS-\\d{4}-\\d{6}"), numberA);
    assertEquals("finalized", fin.json().get("status").asText());
    assertEquals(usage, fin.json().get("totalMicros").asLong());

    Http.Reply read = adminVia(1, "GET", "/admin/invoices/" + numberA);
    assertEquals(200, read.status(), read.body());
    assertEquals(numberA, read.json().get("number").asText());
    HttpResponse<byte[]> csv = get(cluster.managementPort(0), "/admin/invoices/" + numberA, TestCluster.ADMIN_TOKEN,
        "text/csv");
    assertEquals(200, csv.statusCode());
    assertTrue(csv.headers().firstValue("Content-Type").orElse("").startsWith("text/csv"));
    String text = new String(csv.body(), StandardCharsets.UTF_8);
    assertTrue(text.startsWith("invoice,tenant,month,status,line,kind"), text);
    assertTrue(text.contains(numberA + ",inv-a," + MONTH + ",finalized,1,usage"), text);
    HttpResponse<byte[]> pdf = get(cluster.managementPort(0), "/admin/invoices/" + numberA, TestCluster.ADMIN_TOKEN,
        "application/pdf");
    assertEquals(200, pdf.statusCode());
    assertEquals("%PDF-", new String(pdf.body(), 0, 5, StandardCharsets.US_ASCII));
  }

  @Test
  @Order(2)
  void badInputsGetPreciseErrorsAndChangeNothing() {
    assertEquals(400, admin("POST", "/admin/tenants/inv-b/invoices/2026-13/draft", null).status());
    assertEquals(400, admin("POST", "/admin/tenants/inv-b/invoices/" + YearMonth.now(ZoneOffset.UTC).plusMonths(1)
        + "/draft", null).status());
    assertEquals(404, admin("POST", "/admin/tenants/no-such-tenant/invoices/" + MONTH + "/draft", null).status());
    assertEquals(404, admin("GET", "/admin/invoices/AIMOS-1999-000000", null).status());
    assertEquals(404, admin("POST", "/admin/invoices/AIMOS-1999-000000/finalize?early=true", null).status());
    Http.Reply twice = admin("POST", "/admin/invoices/DRAFT-inv-a-" + MONTH + "/finalize?early=true", null);
    assertEquals(409, twice.status(), twice.body());
    assertEquals(409, admin("POST", "/admin/invoices/" + numberA + "/finalize", null).status());
    assertEquals(200, admin("POST", "/admin/tenants/inv-b/invoices/" + MONTH + "/draft", null).status());
    Http.Reply voidDraft = admin("POST", "/admin/invoices/DRAFT-inv-b-" + MONTH + "/void", null);
    assertEquals(409, voidDraft.status(), voidDraft.body());
    assertEquals(400, admin("POST", "/admin/invoices/DRAFT-inv-a-" + MONTH + "/finalize?early=maybe", null).status());

    long total = admin("GET", "/admin/invoices/" + numberA, null).json().get("totalMicros").asLong();
    Http.Reply over = admin("POST", "/admin/invoices/" + numberA + "/credit-notes",
        "{\"amountUsd\": \"" + java.math.BigDecimal.valueOf(total + 1, 6).toPlainString() + "\", \"reason\": \"dispute\"}");
    assertEquals(409, over.status(), over.body());
    assertEquals(400, admin("POST", "/admin/invoices/" + numberA + "/credit-notes",
        "{\"amountUsd\": \"0.000001\", \"reason\": \"goodwill\"}").status());
    assertEquals(400, admin("POST", "/admin/invoices/" + numberA + "/credit-notes", "{\"amountUsd\": \"-1\", "
        + "\"reason\": \"sla\"}").status());
    assertEquals(400, admin("POST", "/admin/invoices/" + numberA + "/credit-notes", "[1]").status());
    assertEquals(409, admin("POST", "/admin/invoices/DRAFT-inv-b-" + MONTH + "/credit-notes",
        "{\"amountUsd\": \"0.000001\", \"reason\": \"sla\"}").status());
    assertEquals("[]", admin("GET", "/admin/invoices/" + numberA + "/credit-notes", null).body());
  }

  @Test
  @Order(3)
  void creditNotesAreNumberedAndNeverExceedWhatIsLeft() {
    long total = admin("GET", "/admin/invoices/" + numberA, null).json().get("totalMicros").asLong();
    Http.Reply cn = admin("POST", "/admin/invoices/" + numberA + "/credit-notes",
        "{\"amountUsd\": \"" + java.math.BigDecimal.valueOf(total - 1, 6).toPlainString()
            + "\", \"reason\": \"adjustment\", \"note\": \"goodwill\"}");
    assertEquals(201, cn.status(), cn.body());
    assertTrue(cn.json().get("number").asText().matches("AIMOS-CN-\\d{4}-\\d{6}"), cn.body());
    assertEquals(409, admin("POST", "/admin/invoices/" + numberA + "/credit-notes",
        "{\"amountUsd\": \"0.000002\", \"reason\": \"sla\"}").status());
    assertEquals(201, admin("POST", "/admin/invoices/" + numberA + "/credit-notes",
        "{\"amountUsd\": \"0.000001\", \"reason\": \"sla\"}").status());
    JsonNode inv = admin("GET", "/admin/invoices/" + numberA, null).json();
    assertEquals("0.000000", inv.get("remainingUsd").asText());
    assertEquals(2, inv.get("creditNotes").size());
    assertEquals(2, admin("GET", "/admin/invoices/" + numberA + "/credit-notes", null).json().size());
  }

  @Test
  @Order(4)
  void aTenantReadsItsOwnBillingAndNeverAnothersInvoice() {
    Http.Reply usage = tenant("/v1/billing/usage?month=" + MONTH, keyA);
    assertEquals(200, usage.status(), usage.body());
    assertEquals(5, usage.json().get("requests").asInt());
    assertEquals(400, tenant("/v1/billing/usage?month=2026-13", keyA).status());
    Http.Reply listA = tenant("/v1/billing/invoices", keyA);
    assertEquals(200, listA.status(), listA.body());
    assertEquals(numberA, listA.json().get(0).get("number").asText());
    assertEquals(200, tenant("/v1/billing/invoices/" + numberA, keyA).status());
    assertEquals(200, tenant("/v1/billing/invoices/" + numberA + "/credit-notes", keyA).status());
    HttpResponse<byte[]> pdf = get(cluster.nodes.get(0).gatewayPort(), "/v1/billing/invoices/" + numberA, keyA,
        "application/pdf");
    assertEquals(200, pdf.statusCode());
    // tenant B: A's invoice does not exist for it, on every route; its list has none of A's; drafts are not shown
    Http.Reply other = tenant("/v1/billing/invoices/" + numberA, keyB);
    assertEquals(404, other.status(), other.body());
    assertFalse(other.body().contains("inv-a"), other.body());
    assertEquals(404, tenant("/v1/billing/invoices/" + numberA + "/credit-notes", keyB).status());
    assertEquals(404, get(cluster.nodes.get(0).gatewayPort(), "/v1/billing/invoices/" + numberA, keyB, "text/csv")
        .statusCode());
    assertEquals("[]", tenant("/v1/billing/invoices", keyB).body());
    assertEquals(404, tenant("/v1/billing/invoices/DRAFT-inv-b-" + MONTH, keyB).status());
    assertEquals(401, tenant("/v1/billing/invoices/" + numberA, null).status());
    assertEquals(401, tenant("/v1/billing/invoices", "aimos_inv-a_notthesecretatallreally").status());
  }

  @Test
  @Order(5)
  void numbersStayGaplessWhenManyAreFinalizedAtOnceThroughThreeNodes() throws Exception {
    int tenants = 12;
    for (int i = 0; i < tenants; i++) {
      String id = "inv-c" + i;
      assertEquals(201, admin("POST", "/admin/tenants", "{\"id\": \"" + id + "\", \"name\": \"c\", \"plan\": "
          + "{\"requestsPerMinute\": 10, \"tokensPerMinute\": 1000, \"monthlyBudgetUsd\": \"1.00\", "
          + "\"maxConcurrentRequests\": 1}}").status());
      assertEquals(200, admin("POST", "/admin/tenants/" + id + "/invoices/" + MONTH + "/draft", null).status());
    }
    ExecutorService pool = Executors.newFixedThreadPool(12);
    List<Future<Http.Reply>> calls = new ArrayList<>();
    // each draft is finalized three times at once, once through each node
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < tenants; i++) {
        int node = (i + round) % 3;
        String path = "/admin/invoices/DRAFT-inv-c" + i + "-" + MONTH + "/finalize?early=true";
        calls.add(pool.submit(() -> adminVia(node, "POST", path)));
      }
    }
    TreeSet<Integer> numbers = new TreeSet<>();
    int conflicts = 0;
    for (Future<Http.Reply> f : calls) {
      Http.Reply r = f.get();
      if (r.status() == 200) {
        String n = r.json().get("number").asText();
        assertTrue(numbers.add(Integer.parseInt(n.substring(n.lastIndexOf('-') + 1))), "twice: " + n);
      } else {
        assertEquals(409, r.status(), r.body());
        conflicts++;
      }
    }
    pool.shutdown();
    assertEquals(tenants, numbers.size());
    assertEquals(2 * tenants, conflicts);
    int first = Integer.parseInt(numberA.substring(numberA.lastIndexOf('-') + 1));
    assertEquals(first + 1, numbers.first(), "the next number after " + numberA);
    assertEquals(first + tenants, numbers.last(), "no gap: " + numbers);
  }

  @Test
  @Order(6)
  void aVoidInvoiceStaysReadable() {
    Http.Reply v = admin("POST", "/admin/invoices/" + numberA + "/void", "{\"reason\": \"issued in error\"}");
    assertEquals(200, v.status(), v.body());
    assertEquals("void", v.json().get("status").asText());
    assertEquals(409, admin("POST", "/admin/invoices/" + numberA + "/void", null).status());
    Http.Reply read = tenant("/v1/billing/invoices/" + numberA, keyA);
    assertEquals(200, read.status());
    assertEquals("void", read.json().get("status").asText());
    assertEquals("issued in error", read.json().get("voidReason").asText());
  }

  @Test
  @Order(7)
  void theTenantsWebhookHearsOfTheInvoiceAndEachCreditNoteOnce() {
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(200), () -> {
      List<JsonNode> copy;
      synchronized (received) {
        copy = new ArrayList<>(received);
      }
      List<String> finalized = copy.stream().filter(e -> e.get("type").asText().equals("invoice.finalized"))
          .map(e -> e.get("data").get("number").asText()).toList();
      assertEquals(List.of(numberA), finalized, copy.toString());
      List<String> notes = copy.stream().filter(e -> e.get("type").asText().equals("credit_note.created"))
          .map(e -> e.get("data").get("invoiceNumber").asText()).toList();
      assertEquals(List.of(numberA, numberA), notes, copy.toString());
      return null;
    });
  }

  private static long micros(String usd) {
    return new java.math.BigDecimal(usd).movePointRight(6).longValueExact();
  }

  @Test
  @Order(8)
  void aMonthWithMoreThanOnePercentOfRequestsOver100msIsCreditedOnceWithItsEvidence() {
    String key = Http.tenantWithKey(cluster, "inv-sla", 1000, 8);
    Http.Reply hook = admin("POST", "/admin/tenants/inv-sla/webhooks", "{\"url\": \"http://127.0.0.1:"
        + receiver.getAddress().getPort() + "/hook\", \"eventTypes\": [\"invoice.finalized\", "
        + "\"sla.credit_issued\"]}");
    assertEquals(201, hook.status(), hook.body());
    Http.Reply fault = Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/inv-text/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"SLOW\", \"count\": 1, \"delayMs\": 300}");
    assertEquals(202, fault.status(), fault.body());
    var client = cluster.client(0);
    TestCluster.infer(client, key, "inv-text", "sla-slow", "one slow answer");
    TestCluster.infer(client, key, "inv-text", "sla-1", "and a quick one");
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      assertEquals(2, cluster.ledgerRows("inv-sla", MONTH).size());
      assertEquals(2, admin("GET", "/admin/tenants/inv-sla/usage?month=" + MONTH, null).json().get("requests")
          .asInt());
      return null;
    });

    JsonNode evidence = admin("GET", "/admin/tenants/inv-sla/sla?month=" + MONTH, null).json();
    assertTrue(evidence.get("breached").asBoolean(), evidence.toString());
    assertEquals(2, evidence.get("eligibleRequests").asLong());
    List<String> slow = new ArrayList<>();
    evidence.get("overRequestIds").forEach(id -> slow.add(id.asText()));
    assertTrue(slow.contains("sla-slow"), evidence.toString());
    long charged = admin("GET", "/admin/tenants/inv-sla/usage?month=" + MONTH, null).json().get("chargeMicros")
        .asLong();
    long credit = java.math.BigDecimal.valueOf(charged * 5).divide(java.math.BigDecimal.valueOf(100), 0,
        java.math.RoundingMode.HALF_UP).longValueExact();
    assertEquals(credit, micros(evidence.get("creditUsd").asText()));
    HttpResponse<byte[]> csv = get(cluster.managementPort(0), "/admin/tenants/inv-sla/sla?month=" + MONTH
        + "&format=csv", TestCluster.ADMIN_TOKEN, null);
    assertEquals(200, csv.statusCode());
    assertTrue(new String(csv.body(), StandardCharsets.UTF_8).startsWith("request_id\n"));
    assertTrue(new String(csv.body(), StandardCharsets.UTF_8).contains("sla-slow\n"));
    assertEquals(400, admin("GET", "/admin/tenants/inv-sla/sla?month=2026-13", null).status());
    assertEquals(400, admin("GET", "/admin/tenants/inv-sla/sla?month=" + MONTH + "&format=xml", null).status());
    assertEquals(404, admin("GET", "/admin/tenants/nobody-here/sla?month=" + MONTH, null).status());

    // the credit is its own line, and the invoice total is the charges less it
    JsonNode draft = admin("POST", "/admin/tenants/inv-sla/invoices/" + MONTH + "/draft", null).json();
    JsonNode line = null;
    for (JsonNode l : draft.get("lines")) {
      if (l.get("kind").asText().equals("sla_credit")) {
        line = l;
      }
    }
    assertTrue(line != null, draft.toString());
    assertEquals(-credit, line.get("amountMicros").asLong());
    assertEquals(charged - credit, draft.get("totalMicros").asLong());

    // finalized, voided and finalized again: two invoices, one credit announced
    Http.Reply first = admin("POST", "/admin/invoices/DRAFT-inv-sla-" + MONTH + "/finalize?early=true", null);
    assertEquals(200, first.status(), first.body());
    String number = first.json().get("number").asText();
    assertEquals(200, admin("POST", "/admin/invoices/" + number + "/void", "{\"reason\": \"reissue\"}").status());
    assertEquals(200, admin("POST", "/admin/tenants/inv-sla/invoices/" + MONTH + "/draft", null).status());
    Http.Reply second = admin("POST", "/admin/invoices/DRAFT-inv-sla-" + MONTH + "/finalize?early=true", null);
    assertEquals(200, second.status(), second.body());
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(200), () -> {
      List<JsonNode> copy;
      synchronized (received) {
        copy = received.stream().filter(e -> e.get("data").path("tenantId").asText().equals("inv-sla")).toList();
      }
      assertEquals(2, copy.stream().filter(e -> e.get("type").asText().equals("invoice.finalized")).count(),
          copy.toString());
      List<JsonNode> credits = copy.stream().filter(e -> e.get("type").asText().equals("sla.credit_issued")).toList();
      assertEquals(1, credits.size(), copy.toString());
      assertEquals(micros(credits.get(0).get("data").get("creditUsd").asText()), credit);
      assertEquals(number, credits.get(0).get("data").get("invoice").asText());
      return null;
    });
  }
}
