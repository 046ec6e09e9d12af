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
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import aimos.api.v1.BillingServiceClient;
import aimos.api.v1.ExportUsageRequest;
import aimos.api.v1.GetInvoiceRequest;
import aimos.api.v1.GetUsageRequest;
import aimos.api.v1.ListCreditNotesRequest;
import aimos.api.v1.ListInvoicesRequest;
import aimos.api.v1.UsageLine;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;
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
  private static BillingServiceClient billingClient;
  private static final List<JsonNode> received = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(3, "aimos.webhooks.allow-private-targets = on\naimos.webhooks.poll-interval = 200ms");
    receiver = Http.jsonReceiver(received);
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

  /** Every admin answer here, errors included, must match the OpenAPI document. */
  private static Http.Reply admin(String method, String path, String body) {
    return OpenApiContract.check(method, path,
        Http.call(method, cluster.managementPort(0), path, TestCluster.ADMIN_TOKEN, body));
  }

  private static Http.Reply adminVia(int node, String method, String path) {
    return OpenApiContract.check(method, path,
        Http.call(method, cluster.managementPort(node), path, TestCluster.ADMIN_TOKEN, null));
  }

  private static HttpResponse<byte[]> get(int port, String path, String token, String accept) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (accept != null) {
      b.header("Accept", accept);
    }
    HttpResponse<byte[]> r;
    try {
      r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (Exception e) {
      throw new AssertionError("GET " + path + " failed: " + e, e);
    }
    // CSV, NDJSON and PDF answers are checked for status and content type; JSON ones for their body too
    OpenApiContract.get().verify("GET", OpenApiContract.get().templateOf(path), new OpenApiContract.Observed(
        r.statusCode(), r.headers().map(), new String(r.body(), StandardCharsets.UTF_8)));
    return r;
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

  // ---- exports and the gRPC BillingService ----

  private static BillingServiceClient billing() {
    if (billingClient == null) {
      billingClient = BillingServiceClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1",
          cluster.nodes.get(0).gatewayPort(), cluster.nodes.get(0).system()).withTls(false),
          cluster.nodes.get(0).system());
    }
    return billingClient;
  }

  private static String bearer(String key) {
    return "Bearer " + key;
  }

  /** The sum of the amount_micros column of a CSV export, after checking its header. */
  private static long csvSum(String csv, String header) {
    String[] lines = csv.split("\n");
    assertEquals(header, lines[0], csv);
    int col = java.util.Arrays.asList(header.split(",")).indexOf("amount_micros");
    long sum = 0;
    for (int i = 1; i < lines.length; i++) {
      String[] cells = lines[i].split(",", -1);
      assertEquals(header.split(",").length, cells.length, lines[i]);
      sum += Long.parseLong(cells[col]);
    }
    return sum;
  }

  /** The sum of amountMicros over an NDJSON export; every line is one JSON object. */
  private static long ndjsonSum(String ndjson) throws Exception {
    long sum = 0;
    for (String line : ndjson.split("\n")) {
      JsonNode n = new ObjectMapper().readTree(line);
      assertTrue(n.isObject(), line);
      sum += n.get("amountMicros").asLong();
    }
    return sum;
  }

  private static final String LINES_HEADER = "kind,day,model,version,unit,unit_price_usd,quantity,units,requests,"
      + "amount_usd,amount_micros";

  private static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Test
  @Order(4)
  void usageExportsSumToTheFinalizedInvoiceOverRestAndGrpc() throws Exception {
    JsonNode invoice = admin("GET", "/admin/invoices/" + numberA, null).json();
    long total = invoice.get("totalMicros").asLong();
    int gateway = cluster.nodes.get(0).gatewayPort();

    HttpResponse<byte[]> csv = get(gateway, "/v1/billing/usage/lines?month=" + MONTH, keyA, "text/csv");
    assertEquals(200, csv.statusCode(), text(csv));
    assertTrue(csv.headers().firstValue("Content-Type").orElse("").startsWith("text/csv"));
    assertEquals(total, csvSum(text(csv), LINES_HEADER), text(csv));
    assertTrue(text(csv).contains(",inv-text,v1,1k_tokens,"), text(csv));
    HttpResponse<byte[]> nd = get(gateway, "/v1/billing/usage?month=" + MONTH + "&format=ndjson", keyA, null);
    assertEquals(200, nd.statusCode(), text(nd));
    assertTrue(nd.headers().firstValue("Content-Type").orElse("").startsWith("application/x-ndjson"));
    assertEquals(total, ndjsonSum(text(nd)), text(nd));
    assertEquals(text(csv), text(get(gateway, "/v1/billing/usage?month=" + MONTH, keyA, "text/csv")));
    long requests = 0;
    for (String line : text(nd).split("\n")) {
      requests += new ObjectMapper().readTree(line).path("requests").asLong();
    }
    assertEquals(5, requests);
    // the month's usage as JSON is still the report
    assertEquals(5, tenant("/v1/billing/usage?month=" + MONTH, keyA).json().get("requests").asInt());

    HttpResponse<byte[]> adminCsv = get(cluster.managementPort(1), "/admin/tenants/inv-a/usage/lines?month="
        + MONTH + "&format=csv", TestCluster.ADMIN_TOKEN, null);
    assertEquals(200, adminCsv.statusCode(), text(adminCsv));
    assertEquals(text(csv), text(adminCsv));
    HttpResponse<byte[]> adminNd = get(cluster.managementPort(0), "/admin/tenants/inv-a/usage/lines?month="
        + MONTH, TestCluster.ADMIN_TOKEN, "application/x-ndjson");
    assertEquals(200, adminNd.statusCode(), text(adminNd));
    assertEquals(text(nd), text(adminNd));

    List<UsageLine> lines = billing().exportUsage().addHeader("authorization", bearer(keyA))
        .invoke(ExportUsageRequest.newBuilder().setMonth(MONTH).build())
        .runWith(Sink.seq(), cluster.nodes.get(0).system()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(total, lines.stream().mapToLong(UsageLine::getAmountMicros).sum(), lines.toString());
    assertEquals(5, lines.stream().mapToLong(UsageLine::getRequests).sum());
    assertEquals(MONTH, lines.get(0).getDay().substring(0, 7));

    // invoices and credit notes, as the tenant and the admin API list them
    HttpResponse<byte[]> invCsv = get(gateway, "/v1/billing/invoices", keyA, "text/csv");
    assertEquals(200, invCsv.statusCode(), text(invCsv));
    assertTrue(text(invCsv).startsWith("id,number,status,tenant_id,month,currency,total_usd,total_micros,"
        + "finalized_at\n" + numberA + "," + numberA + ",finalized,inv-a," + MONTH + ",USD,"), text(invCsv));
    HttpResponse<byte[]> invNd = get(gateway, "/v1/billing/invoices?format=ndjson", keyA, null);
    assertEquals(numberA, new ObjectMapper().readTree(text(invNd).split("\n")[0]).get("number").asText());
    HttpResponse<byte[]> adminInv = get(cluster.managementPort(0), "/admin/tenants/inv-a/invoices",
        TestCluster.ADMIN_TOKEN, "application/x-ndjson");
    assertEquals(200, adminInv.statusCode(), text(adminInv));
    assertTrue(text(adminInv).contains("\"number\":\"" + numberA + "\""), text(adminInv));
    HttpResponse<byte[]> notesCsv = get(gateway, "/v1/billing/invoices/" + numberA + "/credit-notes", keyA,
        "text/csv");
    assertEquals(200, notesCsv.statusCode(), text(notesCsv));
    String[] noteLines = text(notesCsv).split("\n");
    assertEquals(3, noteLines.length, text(notesCsv));
    assertEquals(total, csvSum(text(notesCsv), "number,invoice_number,tenant_id,month,reason,note,amount_usd,"
        + "amount_micros,created_at"), "the two notes credit the whole invoice");
    HttpResponse<byte[]> adminNotes = get(cluster.managementPort(0), "/admin/invoices/" + numberA
        + "/credit-notes?format=ndjson", TestCluster.ADMIN_TOKEN, null);
    assertEquals(total, ndjsonSum(text(adminNotes)), text(adminNotes));

    var listed = billing().listInvoices().addHeader("authorization", bearer(keyA))
        .invoke(ListInvoicesRequest.getDefaultInstance()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(numberA, listed.getInvoices(0).getNumber());
    assertEquals(total, listed.getInvoices(0).getTotalMicros());
    var one = billing().getInvoice().addHeader("authorization", bearer(keyA))
        .invoke(GetInvoiceRequest.newBuilder().setNumber(numberA).build()).toCompletableFuture().get(30,
            TimeUnit.SECONDS);
    assertEquals(total, one.getLinesList().stream().mapToLong(aimos.api.v1.InvoiceLine::getAmountMicros).sum());
    assertEquals(2, one.getCreditNotesCount());
    assertEquals("0.000000", one.getRemainingUsd());
    var notes = billing().listCreditNotes().addHeader("authorization", bearer(keyA))
        .invoke(ListCreditNotesRequest.newBuilder().setInvoiceNumber(numberA).build()).toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    assertEquals(total, notes.getCreditNotesList().stream().mapToLong(aimos.api.v1.CreditNote::getAmountMicros)
        .sum());
    var usage = billing().getUsage().addHeader("authorization", bearer(keyA))
        .invoke(GetUsageRequest.newBuilder().setMonth(MONTH).build()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertEquals(5, usage.getRequests());
    assertEquals("inv-a", usage.getTenantId());
    String services = InferenceIT.reflectedServices(gateway);
    assertTrue(services.contains("aimos.v1.BillingService"), services);
  }

  private static io.grpc.StatusRuntimeException grpcFails(io.grpc.Status.Code code,
                                                          java.util.concurrent.Callable<?> call) {
    try {
      call.call();
    } catch (Exception e) {
      Throwable t = e;
      while (!(t instanceof io.grpc.StatusRuntimeException) && t.getCause() != null) {
        t = t.getCause();
      }
      assertTrue(t instanceof io.grpc.StatusRuntimeException, e.toString());
      io.grpc.StatusRuntimeException s = (io.grpc.StatusRuntimeException) t;
      assertEquals(code, s.getStatus().getCode(), String.valueOf(s.getStatus()));
      return s;
    }
    throw new AssertionError("expected " + code);
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  @Order(5)
  void anotherTenantsKeyFindsNothingOfAsAndBadInputIsRefusedPrecisely() throws Exception {
    int gateway = cluster.nodes.get(0).gatewayPort();
    // REST: B's key on A's credit notes in every format is a plain 404; B's lists and lines hold B's only
    for (String accept : new String[] {"text/csv", "application/x-ndjson", "application/json"}) {
      HttpResponse<byte[]> r = get(gateway, "/v1/billing/invoices/" + numberA + "/credit-notes", keyB, accept);
      assertEquals(404, r.statusCode(), text(r));
      assertFalse(text(r).contains("inv-a"), text(r));
    }
    // A's invoice itself, in each rendering, and B's usage naming A: nothing of A's
    for (String accept : new String[] {"application/pdf", "text/csv", "application/json"}) {
      HttpResponse<byte[]> r = get(gateway, "/v1/billing/invoices/" + numberA, keyB, accept);
      assertEquals(404, r.statusCode(), accept + ": " + text(r));
      assertFalse(text(r).contains("inv-a"), text(r));
    }
    HttpResponse<byte[]> bUsage = get(gateway, "/v1/billing/usage?month=" + MONTH + "&tenant=inv-a", keyB, null);
    assertEquals(200, bUsage.statusCode(), text(bUsage));
    assertTrue(text(bUsage).contains("\"inv-b\"") && !text(bUsage).contains("inv-a"), text(bUsage));
    HttpResponse<byte[]> bList = get(gateway, "/v1/billing/invoices?format=csv", keyB, null);
    assertEquals(200, bList.statusCode());
    assertEquals("id,number,status,tenant_id,month,currency,total_usd,total_micros,finalized_at\n", text(bList));
    HttpResponse<byte[]> bLines = get(gateway, "/v1/billing/usage/lines?month=" + MONTH, keyB, null);
    assertEquals(200, bLines.statusCode(), text(bLines));
    assertFalse(text(bLines).contains("inv-a"));
    assertEquals(admin("GET", "/admin/tenants/inv-b/usage?month=" + MONTH, null).json().get("chargeMicros").asLong(),
        ndjsonSum(text(bLines)));

    // gRPC: A's invoice is NOT_FOUND for B, exactly as a number never issued
    var denied = grpcFails(io.grpc.Status.Code.NOT_FOUND, () -> await(billing().getInvoice()
        .addHeader("authorization", bearer(keyB)).invoke(GetInvoiceRequest.newBuilder().setNumber(numberA).build())));
    assertFalse(String.valueOf(denied.getStatus().getDescription()).contains("inv-a"), denied.toString());
    grpcFails(io.grpc.Status.Code.NOT_FOUND, () -> await(billing().getInvoice()
        .addHeader("authorization", bearer(keyB)).invoke(GetInvoiceRequest.newBuilder()
            .setNumber("AIMOS-1999-000000").build())));
    grpcFails(io.grpc.Status.Code.NOT_FOUND, () -> await(billing().listCreditNotes()
        .addHeader("authorization", bearer(keyB)).invoke(ListCreditNotesRequest.newBuilder()
            .setInvoiceNumber(numberA).build())));
    assertEquals(0, await(billing().listInvoices().addHeader("authorization", bearer(keyB))
        .invoke(ListInvoicesRequest.getDefaultInstance())).getInvoicesCount());
    List<UsageLine> bExport = await(billing().exportUsage().addHeader("authorization", bearer(keyB))
        .invoke(ExportUsageRequest.newBuilder().setMonth(MONTH).build())
        .runWith(Sink.seq(), cluster.nodes.get(0).system()));
    assertEquals(1, bExport.stream().mapToLong(UsageLine::getRequests).sum(), bExport.toString());
    assertEquals("inv-b", await(billing().getUsage().addHeader("authorization", bearer(keyB))
        .invoke(GetUsageRequest.getDefaultInstance())).getTenantId());

    // no key, or a wrong one: UNAUTHENTICATED on every call, before any input is looked at
    grpcFails(io.grpc.Status.Code.UNAUTHENTICATED, () -> await(billing().getInvoice()
        .invoke(GetInvoiceRequest.newBuilder().setNumber("not-a-number").build())));
    grpcFails(io.grpc.Status.Code.UNAUTHENTICATED, () -> await(billing().listInvoices()
        .invoke(ListInvoicesRequest.getDefaultInstance())));
    grpcFails(io.grpc.Status.Code.UNAUTHENTICATED, () -> await(billing().listCreditNotes()
        .addHeader("authorization", "Bearer aimos_inv-a_notthesecretatallreally")
        .invoke(ListCreditNotesRequest.newBuilder().setInvoiceNumber(numberA).build())));
    grpcFails(io.grpc.Status.Code.UNAUTHENTICATED, () -> await(billing().getUsage()
        .invoke(GetUsageRequest.getDefaultInstance())));
    grpcFails(io.grpc.Status.Code.UNAUTHENTICATED, () -> await(billing().exportUsage()
        .invoke(ExportUsageRequest.getDefaultInstance()).runWith(Sink.seq(), cluster.nodes.get(0).system())));

    // bad input: INVALID_ARGUMENT saying what to send
    var badNumber = grpcFails(io.grpc.Status.Code.INVALID_ARGUMENT, () -> await(billing().getInvoice()
        .addHeader("authorization", bearer(keyA)).invoke(GetInvoiceRequest.newBuilder().setNumber("INV-7").build())));
    assertEquals("number must be an invoice number like \"AIMOS-2026-000123\", was \"INV-7\"",
        badNumber.getStatus().getDescription());
    var noNumber = grpcFails(io.grpc.Status.Code.INVALID_ARGUMENT, () -> await(billing().listCreditNotes()
        .addHeader("authorization", bearer(keyA)).invoke(ListCreditNotesRequest.getDefaultInstance())));
    assertEquals("invoice_number is required, for example \"AIMOS-2026-000123\"",
        noNumber.getStatus().getDescription());
    var badMonth = grpcFails(io.grpc.Status.Code.INVALID_ARGUMENT, () -> await(billing().exportUsage()
        .addHeader("authorization", bearer(keyA)).invoke(ExportUsageRequest.newBuilder().setMonth("2026-13").build())
        .runWith(Sink.seq(), cluster.nodes.get(0).system())));
    assertEquals("month must look like 2026-11, was '2026-13'", badMonth.getStatus().getDescription());
    String next = YearMonth.now(ZoneOffset.UTC).plusMonths(1).toString();
    var future = grpcFails(io.grpc.Status.Code.INVALID_ARGUMENT, () -> await(billing().exportUsage()
        .addHeader("authorization", bearer(keyA)).invoke(ExportUsageRequest.newBuilder().setMonth(next).build())
        .runWith(Sink.seq(), cluster.nodes.get(0).system())));
    assertEquals("month " + next + " has not begun", future.getStatus().getDescription());
    grpcFails(io.grpc.Status.Code.INVALID_ARGUMENT, () -> await(billing().getUsage()
        .addHeader("authorization", bearer(keyA)).invoke(GetUsageRequest.newBuilder().setMonth("November").build())));

    // REST: an Accept the route cannot serve is 406, a bad format or month 400, each with what to send instead
    HttpResponse<byte[]> xml = get(gateway, "/v1/billing/usage/lines?month=" + MONTH, keyA, "application/xml");
    assertEquals(406, xml.statusCode(), text(xml));
    assertTrue(text(xml).contains("text/csv"), text(xml));
    assertEquals(406, get(gateway, "/v1/billing/invoices", keyA, "application/pdf").statusCode());
    assertEquals(406, get(cluster.managementPort(0), "/admin/tenants/inv-a/usage/lines", TestCluster.ADMIN_TOKEN,
        "application/json").statusCode());
    HttpResponse<byte[]> fmt = get(gateway, "/v1/billing/invoices?format=xml", keyA, null);
    assertEquals(400, fmt.statusCode(), text(fmt));
    assertTrue(text(fmt).contains("format must be json, csv or ndjson, was 'xml'"), text(fmt));
    HttpResponse<byte[]> month = get(gateway, "/v1/billing/usage/lines?month=2026-13", keyA, "text/csv");
    assertEquals(400, month.statusCode(), text(month));
    assertTrue(text(month).contains("month must look like 2026-11, was '2026-13'"), text(month));
    assertEquals(404, get(cluster.managementPort(0), "/admin/tenants/no-such-tenant/usage/lines?month=" + MONTH,
        TestCluster.ADMIN_TOKEN, null).statusCode());
    assertEquals(401, get(gateway, "/v1/billing/usage/lines", null, "text/csv").statusCode());
  }

  @Test
  @Order(6)
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
  @Order(7)
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
  @Order(8)
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
  @Order(9)
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
  @Order(10)
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
    assertTrue(new String(csv.body(), StandardCharsets.UTF_8).startsWith("request_id,latency_ms\n"));
    assertTrue(new String(csv.body(), StandardCharsets.UTF_8).contains("sla-slow,"));
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

  @Test
  @Order(11)
  void theSlaCreditIsTheLastLineOfTheExportAndTheLinesSumToTheInvoice() throws Exception {
    JsonNode list = admin("GET", "/admin/tenants/inv-sla/invoices", null).json();
    JsonNode fin = null;
    for (JsonNode i : list) {
      if (i.get("status").asText().equals("finalized")) {
        fin = i;
      }
    }
    assertTrue(fin != null, list.toString());
    HttpResponse<byte[]> nd = get(cluster.managementPort(2), "/admin/tenants/inv-sla/usage/lines?month=" + MONTH,
        TestCluster.ADMIN_TOKEN, null);
    assertEquals(200, nd.statusCode(), text(nd));
    String[] lines = text(nd).split("\n");
    assertEquals("sla_credit", new ObjectMapper().readTree(lines[lines.length - 1]).get("kind").asText(), text(nd));
    assertEquals(fin.get("totalMicros").asLong(), ndjsonSum(text(nd)), text(nd));
    String key = Http.tenantWithKey(cluster, "inv-sla-probe", 10, 1);
    grpcFails(io.grpc.Status.Code.NOT_FOUND, () -> await(billing().getInvoice().addHeader("authorization",
        bearer(key)).invoke(GetInvoiceRequest.newBuilder().setNumber(fin0(list)).build())));
  }

  private static String fin0(JsonNode list) {
    for (JsonNode i : list) {
      if (i.get("status").asText().equals("finalized")) {
        return i.get("number").asText();
      }
    }
    throw new AssertionError(list.toString());
  }
}
