package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.ledger.LedgerCursor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Usage from the rollups, the ledger in pages and as a stream, over real HTTP: for admins on the management port and
 * for tenants with their API key on the gateway port, where a tenant only ever sees its own rows.
 */
class UsageRoutesIT {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String MONTH = YearMonth.now(ZoneOffset.UTC).toString();
  private static final int A_REQUESTS = 23;
  private static TestCluster cluster;
  private static String keyA;
  private static String keyB;

  record Reply(int status, byte[] body, HttpResponse<byte[]> raw) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON (" + status + "): " + text(), e);
      }
    }

    String gunzipped() {
      try (var in = new GZIPInputStream(new ByteArrayInputStream(body))) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (Exception e) {
        throw new AssertionError("not gzip: " + text(), e);
      }
    }
  }

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1);
    Http.textModel(cluster, "usage-text");
    cluster.awaitWorkerReady("usage-text", "v1");
    keyA = Http.tenantWithKey(cluster, "ledger-a", 1000, 8);
    keyB = Http.tenantWithKey(cluster, "ledger-b", 1000, 8);
    var client = cluster.client(0);
    for (int i = 0; i < A_REQUESTS; i++) {
      TestCluster.infer(client, keyA, "usage-text", "a-" + i, "usage request number " + i);
    }
    for (int i = 0; i < 3; i++) {
      TestCluster.infer(client, keyB, "usage-text", "b-" + i, "other tenant " + i);
    }
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      assertEquals(A_REQUESTS, admin("/admin/tenants/ledger-a/usage?month=" + MONTH).json().get("requests").asInt());
      assertEquals(3, admin("/admin/tenants/ledger-b/usage?month=" + MONTH).json().get("requests").asInt());
      assertEquals(A_REQUESTS, cluster.ledgerRows("ledger-a", MONTH).size());
      return null;
    });
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static Reply get(int port, String path, String token, boolean gzip) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (gzip) {
      b.header("Accept-Encoding", "gzip");
    }
    try {
      HttpResponse<byte[]> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      return new Reply(r.statusCode(), r.body(), r);
    } catch (Exception e) {
      throw new AssertionError("GET " + path + " failed: " + e, e);
    }
  }

  private static Reply admin(String path) {
    return get(cluster.managementPort(0), path, TestCluster.ADMIN_TOKEN, false);
  }

  /** A tenant's call with its key; every answer is checked against the OpenAPI contract. */
  private static Reply tenant(String path, String key) {
    Reply r = get(cluster.nodes.get(0).gatewayPort(), path, key, false);
    OpenApiContract.get().verify("GET", OpenApiContract.get().templateOf(path),
        new OpenApiContract.Observed(r.status(), r.raw().headers().map(), r.text()));
    return r;
  }

  /** Walks the pages from {@code first} (a path ending in a query) with their cursors; returns the rows. */
  private static List<JsonNode> walk(java.util.function.Function<String, Reply> call, String first) {
    List<JsonNode> rows = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      Reply page = call.apply(first + (cursor == null ? "" : "&cursor=" + cursor));
      assertEquals(200, page.status(), page.text());
      page.json().get("rows").forEach(rows::add);
      cursor = page.json().get("nextCursor").isNull() ? null : page.json().get("nextCursor").asText();
    } while (cursor != null && ++pages < 100);
    return rows;
  }

  private static List<Long> sequenceNrs(List<JsonNode> rows) {
    return rows.stream().map(r -> r.get("sequenceNr").asLong()).toList();
  }

  @Test
  void adminPagesWalkEveryRowOnceInOrder() {
    List<JsonNode> rows = walk(UsageRoutesIT::admin, "/admin/tenants/ledger-a/ledger?month=" + MONTH + "&limit=5");
    assertEquals(A_REQUESTS, rows.size());
    List<Long> seqs = sequenceNrs(rows);
    assertEquals(seqs.stream().sorted().distinct().toList(), seqs, "in sequence order, each once");
    assertTrue(rows.stream().allMatch(r -> r.get("tenantId").asText().equals("ledger-a")));
    var first = admin("/admin/tenants/ledger-a/ledger?month=" + MONTH).json();
    assertEquals(A_REQUESTS, first.get("rows").size(), "the default page holds 100 rows");
    assertTrue(first.get("nextCursor").isNull());
    var empty = admin("/admin/tenants/ledger-a/ledger?month=2020-01").json();
    assertEquals(0, empty.get("rows").size());
  }

  @Test
  void adminUsageChartsSumToTheMonth() {
    var daily = admin("/admin/tenants/ledger-a/usage/daily?month=" + MONTH);
    assertEquals(200, daily.status(), daily.text());
    long requests = 0;
    for (JsonNode p : daily.json()) {
      requests += p.get("requests").asLong();
    }
    assertEquals(A_REQUESTS, requests);
    var report = admin("/admin/tenants/ledger-a/usage?month=" + MONTH).json();
    long hourly = 0;
    for (JsonNode d : daily.json()) {
      for (JsonNode h : admin("/admin/tenants/ledger-a/usage/hourly?day=" + d.get("period").asText()).json()) {
        hourly += h.get("chargeMicros").asLong();
      }
    }
    assertEquals(report.get("chargeMicros").asLong(), hourly);
    assertTrue(report.has("requestsOver100ms"), report.toString());
  }

  @Test
  void badParametersAre400WithTheReason() {
    String base = "/admin/tenants/ledger-a/";
    String otherMonth = LedgerCursor.encode(YearMonth.parse(MONTH).minusMonths(1).toString(), 5);
    String[][] cases = {
        {"ledger?month=" + MONTH + "&limit=0", "limit"},
        {"ledger?month=" + MONTH + "&limit=1001", "limit"},
        {"ledger?month=" + MONTH + "&limit=ten", "limit"},
        {"ledger?month=" + MONTH + "&cursor=not-a-cursor", "cursor"},
        {"ledger?month=" + MONTH + "&cursor=" + otherMonth, "cursor belongs to month"},
        {"ledger?month=2026-13", "month"},
        {"ledger?month=11-2026", "month"},
        {"ledger/export?month=" + MONTH + "&format=xml", "format"},
        {"ledger/export?month=bad", "month"},
        {"usage?month=2026-1", "month"},
        {"usage/daily?month=x", "month"},
        {"usage/hourly?day=2026-02-30", "day"}};
    for (String[] c : cases) {
      Reply r = admin(base + c[0]);
      assertEquals(400, r.status(), c[0] + ": " + r.text());
      assertTrue(r.json().get("error").get("message").asText().contains(c[1]), c[0] + ": " + r.text());
    }
    assertEquals(404, admin("/admin/tenants/nobody-here/ledger?month=" + MONTH).status());
    assertEquals(401, get(cluster.managementPort(0), base + "ledger", "wrong", false).status());
  }

  @Test
  void exportsNdjsonAndCsvGzippedWhenAsked() {
    String path = "/admin/tenants/ledger-a/ledger/export?month=" + MONTH;
    Reply ndjson = admin(path);
    assertEquals(200, ndjson.status(), ndjson.text());
    assertTrue(ndjson.raw().headers().firstValue("Content-Type").orElse("").startsWith("application/x-ndjson"));
    List<String> lines = ndjson.text().lines().toList();
    assertEquals(A_REQUESTS, lines.size());
    List<Long> seqs = new ArrayList<>();
    for (String line : lines) {
      try {
        seqs.add(JSON.readTree(line).get("sequenceNr").asLong());
      } catch (Exception e) {
        throw new AssertionError(line, e);
      }
    }
    assertEquals(sequenceNrs(walk(UsageRoutesIT::admin, "/admin/tenants/ledger-a/ledger?month=" + MONTH
        + "&limit=1000")), seqs);

    Reply csv = admin(path + "&format=csv");
    assertEquals(200, csv.status());
    List<String> csvLines = csv.text().lines().toList();
    assertEquals(A_REQUESTS + 1, csvLines.size());
    assertTrue(csvLines.get(0).startsWith("sequence_nr,request_id,model"), csvLines.get(0));
    assertTrue(csvLines.get(1).contains(",usage-text,v1,TOKENS,"), csvLines.get(1));

    Reply gz = get(cluster.managementPort(0), path + "&format=csv", TestCluster.ADMIN_TOKEN, true);
    assertEquals(200, gz.status());
    assertEquals("gzip", gz.raw().headers().firstValue("Content-Encoding").orElse(""));
    assertEquals(csv.text(), gz.gunzipped());
    assertFalse(csv.raw().headers().firstValue("Content-Encoding").isPresent(), "not gzipped unless asked");
  }

  @Test
  void aTenantReadsItsOwnUsageAndLedgerWithItsKey() {
    var usage = tenant("/v1/usage?month=" + MONTH, keyA);
    assertEquals(200, usage.status(), usage.text());
    assertEquals(A_REQUESTS, usage.json().get("requests").asInt());
    assertEquals("ledger-a", usage.json().get("tenantId").asText());
    List<JsonNode> rows = walk(p -> tenant(p, keyA), "/v1/usage/ledger?month=" + MONTH + "&limit=4");
    assertEquals(A_REQUESTS, rows.size());
    assertTrue(rows.stream().allMatch(r -> r.get("requestId").asText().startsWith("a-")));
    assertEquals(A_REQUESTS, tenant("/v1/usage/daily?month=" + MONTH, keyA).json().get(0).get("requests").asInt());

    Reply export = get(cluster.nodes.get(0).gatewayPort(), "/v1/usage/ledger/export?month=" + MONTH + "&format=ndjson",
        keyA, true);
    assertEquals(200, export.status());
    assertEquals("gzip", export.raw().headers().firstValue("Content-Encoding").orElse(""));
    assertEquals(A_REQUESTS, export.gunzipped().lines().count());
  }

  @Test
  void aTenantNeverSeesAnotherTenantsRows() {
    // the tenant comes from the key: a parameter naming another tenant changes nothing
    List<JsonNode> rowsOfB = walk(p -> tenant(p, keyB), "/v1/usage/ledger?month=" + MONTH + "&tenant=ledger-a&limit=2");
    assertEquals(3, rowsOfB.size());
    assertTrue(rowsOfB.stream().allMatch(r -> r.get("tenantId").asText().equals("ledger-b")), rowsOfB.toString());
    // a cursor taken from A's pages pages B's own ledger when B presents it
    String cursorOfA = tenant("/v1/usage/ledger?month=" + MONTH + "&limit=1", keyA).json().get("nextCursor").asText();
    var withA = tenant("/v1/usage/ledger?month=" + MONTH + "&cursor=" + cursorOfA, keyB);
    assertEquals(200, withA.status(), withA.text());
    withA.json().get("rows").forEach(r -> assertEquals("ledger-b", r.get("tenantId").asText()));
    String export = tenant("/v1/usage/ledger/export?month=" + MONTH + "&tenant=ledger-a", keyB).text();
    assertEquals(3, export.lines().count());
    assertFalse(export.contains("ledger-a"), export);
    assertEquals(3, tenant("/v1/usage?month=" + MONTH + "&tenant=ledger-a", keyB).json().get("requests").asInt());
    // the charts: B's own days and hours, whatever else is named
    long days = 0;
    long hours = 0;
    for (JsonNode d : tenant("/v1/usage/daily?month=" + MONTH + "&tenant=ledger-a", keyB).json()) {
      days += d.get("requests").asLong();
      for (JsonNode h : tenant("/v1/usage/hourly?day=" + d.get("period").asText() + "&tenant=ledger-a", keyB)
          .json()) {
        hours += h.get("requests").asLong();
      }
    }
    assertEquals(3, days);
    assertEquals(3, hours);
  }

  @Test
  void theTenantRoutesRefuseBadKeysAndInputTheOpenAiWay() {
    assertEquals(401, tenant("/v1/usage/ledger?month=" + MONTH, null).status());
    var forged = tenant("/v1/usage/ledger?month=" + MONTH, "aimos_ledger-a_not-the-secret");
    assertEquals(401, forged.status());
    assertEquals("invalid_api_key", forged.json().get("error").get("code").asText());
    for (String bad : List.of("/v1/usage/ledger?month=" + MONTH + "&limit=5000", "/v1/usage/ledger?cursor=%2F%2F",
        "/v1/usage?month=someday", "/v1/usage/hourly?day=2026-1-1", "/v1/usage/ledger/export?format=pdf")) {
      var r = tenant(bad, keyA);
      assertEquals(400, r.status(), bad + ": " + r.text());
      assertEquals("invalid_request_error", r.json().get("error").get("type").asText(), r.text());
    }
    assertEquals(200, tenant("/v1/usage/hourly?day=" + LocalDate.now(ZoneOffset.UTC), keyA).status());
  }
}
