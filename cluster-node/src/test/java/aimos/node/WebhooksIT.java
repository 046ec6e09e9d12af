package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferResponse;
import aimos.billing.webhook.WebhookSignature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Budget alerts and webhooks through the real APIs of a two-node cluster: thresholds set by an admin, each crossed
 * once per month and announced once to a real HTTP receiver, also after the node hosting the tenant stops; endpoints
 * managed by the tenant with its key, never another tenant's; bad input refused with what to fix and no change.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebhooksIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestCluster cluster;
  private static HttpServer receiver;
  private static ExecutorService receiverThreads;
  private static final List<JsonNode> received = Collections.synchronizedList(new ArrayList<>());
  private static final List<String> receivedIds = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void start() throws Exception {
    // tenants snapshot every 3 events, so that the erased tenant has snapshots to be sealed and to recover from
    cluster = TestCluster.start(2, "aimos.webhooks.allow-private-targets = on\naimos.webhooks.poll-interval = 200ms\n"
        + "aimos.tenant.snapshot-every = 3");
    Http.textModel(cluster, "alert-text", 2);
    cluster.awaitWorkers("alert-text", "v1", 2);
    receiverThreads = Executors.newCachedThreadPool();
    receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    receiver.setExecutor(receiverThreads);
    receiver.createContext("/hook", ex -> {
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      receivedIds.add(ex.getRequestHeaders().getFirst("webhook-id"));
      received.add(JSON.readTree(body));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    receiver.start();
  }

  @AfterAll
  static void stop() {
    receiver.stop(0);
    receiverThreads.shutdownNow();
    cluster.close();
  }

  private static String hookUrl() {
    return "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
  }

  private static Http.Reply gateway(String method, String path, String key, String body) {
    return OpenApiContract.check(method, path,
        Http.call(method, cluster.nodes.get(0).gatewayPort(), path, key, body));
  }

  /** Every answer here, errors included, must match the OpenAPI document. */
  private static Http.Reply admin(String method, String path, String body) {
    return OpenApiContract.check(method, path, Http.admin(cluster, method, path, body));
  }

  private static int hostOf(String tenant) {
    String node = admin("GET", "/admin/tenants/" + tenant + "/location", null).json().get("node").asText();
    for (int i = 0; i < cluster.nodes.size(); i++) {
      if (cluster.nodes.get(i).system().address().toString().equals(node)) {
        return i;
      }
    }
    throw new AssertionError("no node " + node);
  }

  private static List<JsonNode> alertsOf(String tenant) {
    synchronized (received) {
      return received.stream().filter(b -> b.get("data").path("tenantId").asText().equals(tenant)).toList();
    }
  }

  @Test
  @Order(1)
  void aTenantKeyManagesOnlyItsOwnEndpoints() {
    String inferenceA = Http.tenantWithKey(cluster, "hooks-a", 1000, 4);
    Http.tenantWithKey(cluster, "hooks-b", 1000, 4);
    String keyA = Http.tenantAdminKey(cluster, "hooks-a");
    String keyB = Http.tenantAdminKey(cluster, "hooks-b");
    // an application's inference key cannot add endpoints: that takes the tenant's admin key
    Http.Reply byInferenceKey = gateway("POST", "/v1/webhooks", inferenceA, "{\"url\": \"" + hookUrl() + "\"}");
    assertEquals(403, byInferenceKey.status(), byInferenceKey.body());
    assertTrue(byInferenceKey.body().contains("tenant-admin key"), byInferenceKey.body());
    assertEquals(403, gateway("GET", "/v1/webhooks", inferenceA, null).status());
    Http.Reply created = gateway("POST", "/v1/webhooks", keyA, """
        {"url": "%s", "eventTypes": ["invoice.finalized"], "description": "billing system"}""".formatted(hookUrl()));
    assertEquals(201, created.status(), created.body());
    String endpoint = created.json().get("endpoint").get("id").asText();
    String secret = created.json().get("secret").asText();
    assertTrue(secret.startsWith("whsec_"));

    // another tenant's key sees none of it and can change none of it
    assertEquals("[]", gateway("GET", "/v1/webhooks", keyB, null).body());
    for (String[] call : new String[][] {{"GET", ""}, {"DELETE", ""}, {"POST", "/disable"}, {"POST", "/enable"},
        {"POST", "/rotate-secret"}, {"GET", "/deliveries"}}) {
      Http.Reply r = gateway(call[0], "/v1/webhooks/" + endpoint + call[1], keyB, null);
      assertEquals(404, r.status(), call[0] + " " + call[1] + ": " + r.body());
      assertTrue(r.json().get("error").get("message").asText().contains("no webhook endpoint"), r.body());
    }
    assertEquals(401, gateway("GET", "/v1/webhooks", null, null).status());
    assertEquals(401, gateway("GET", "/v1/webhooks", "aimos_hooks-a_notthesecret", null).status());
    // unchanged: still enabled, and no rotation happened
    JsonNode own = gateway("GET", "/v1/webhooks/" + endpoint, keyA, null).json();
    assertTrue(own.get("enabled").asBoolean());
    assertTrue(own.get("previousSecretValidUntil").isNull());
    assertFalse(own.toString().contains(secret.substring(6)), "a listing never shows the secret");
    JsonNode viaAdmin = admin("GET", "/admin/tenants/hooks-a/webhooks", null).json();
    assertEquals(1, viaAdmin.size());
    assertEquals("[]", admin("GET", "/admin/tenants/hooks-b/webhooks", null).body());

    // the owner manages its endpoint
    assertFalse(gateway("POST", "/v1/webhooks/" + endpoint + "/disable", keyA, null).json().get("enabled")
        .asBoolean());
    Http.Reply rotated = gateway("POST", "/v1/webhooks/" + endpoint + "/rotate-secret", keyA, null);
    assertEquals(200, rotated.status(), rotated.body());
    assertNotEquals(secret, rotated.json().get("secret").asText());
    assertEquals(200, gateway("DELETE", "/v1/webhooks/" + endpoint, keyA, null).status());
    assertEquals("[]", gateway("GET", "/v1/webhooks", keyA, null).body());
  }

  @Test
  @Order(2)
  void badInputIsRefusedWithWhatToFixAndChangesNothing() {
    Http.tenantWithKey(cluster, "hooks-bad", 1000, 4);
    String hooks = "/admin/tenants/hooks-bad/webhooks";
    String[][] refused = {
        {"{not json", "not valid JSON"},
        {"[]", "JSON object"},
        {"{}", "'url' is required"},
        {"{\"url\": \"ftp://example.com/x\"}", "https://"},
        {"{\"url\": \"https://user:pw@example.com/x\"}", "user info"},
        {"{\"url\": \"%s\", \"eventTypes\": [\"invoice.paid\"]}".formatted(hookUrl()), "unknown event type"},
        {"{\"url\": \"%s\", \"eventTypes\": []}".formatted(hookUrl()), "at least one"},
        {"{\"url\": \"%s\", \"eventTypes\": \"invoice.finalized\"}".formatted(hookUrl()), "list of event types"},
        {"{\"url\": \"%s\", \"colour\": \"red\"}".formatted(hookUrl()), "unknown field"},
    };
    for (String[] c : refused) {
      Http.Reply r = admin("POST", hooks, c[0]);
      assertEquals(400, r.status(), c[0] + " -> " + r.body());
      assertTrue(r.json().get("error").get("message").asText().contains(c[1]), c[0] + " -> " + r.body());
    }
    assertEquals(413, admin("POST", hooks, "{\"description\": \"" + "x".repeat(20_000) + "\"}").status());
    assertEquals("[]", admin("GET", hooks, null).body());
    assertEquals(404, admin("POST", "/admin/tenants/nobody-here/webhooks",
        "{\"url\": \"" + hookUrl() + "\"}").status());
    assertEquals(400, admin("GET", "/admin/tenants/Not_Valid!/webhooks", null).status());
    assertEquals(400, admin("GET", hooks + "/nope/deliveries", null).status());
    assertEquals(404, admin("GET", hooks + "/ep_0123456789abcdef/deliveries", null).status());
    assertEquals(405, admin("PUT", hooks, "{}").status());
    assertEquals(401, Http.call("GET", cluster.managementPort(0), hooks, "wrong-token", null).status());

    String alerts = "/admin/tenants/hooks-bad/budget-alerts";
    for (String bad : new String[] {"{}", "{\"thresholds\": []}", "{\"thresholds\": [0]}", "{\"thresholds\": [101]}",
        "{\"thresholds\": [80, 50]}", "{\"thresholds\": [50, 50]}", "{\"thresholds\": [50.5]}",
        "{\"thresholds\": [\"50\"]}", "{\"thresholds\": [1,2,3,4,5,6,7,8,9,10,11]}",
        "{\"thresholds\": [50], \"x\": 1}"}) {
      Http.Reply r = admin("PUT", alerts, bad);
      assertEquals(400, r.status(), bad + " -> " + r.body());
    }
    JsonNode unchanged = admin("GET", alerts, null).json();
    assertEquals("[50,80,100]", unchanged.get("thresholds").toString());
    assertTrue(unchanged.get("defaults").asBoolean());
    assertEquals(405, admin("DELETE", alerts, null).status());
    assertEquals(404, admin("GET", "/admin/tenants/nobody-here/budget-alerts", null).status());
    // other admin routes still answer beside these
    assertEquals(200, admin("GET", "/admin/tenants/hooks-bad", null).status());
  }

  // ---- GDPR: a tenant's personal data is sealed wherever it is stored, and erasing the tenant destroys its key ----

  private static final String NAME_MARK = "Grace Hopper Labs gdprname7f3a";
  private static final String URL_MARK = "gdprurl7f3a";
  private static final String DESCRIPTION_MARK = "billing contact grace@gdprmail7f3a.example";
  /** The erased tenant, checked again once its node has stopped and its entity recovered elsewhere. */
  private static String erased;
  private static String erasedInvoiceTotal;

  @Test
  @Order(3)
  void erasureLeavesNoPersonalDataInAnyTableAndKeepsTheMoney() {
    String tenant = null;
    for (int i = 0; i < 30 && tenant == null; i++) {
      String candidate = "erased-" + i;
      Http.Reply created = admin("POST", "/admin/tenants", """
          {"id": "%s", "name": "%s", "plan": {"requestsPerMinute": 1000, "tokensPerMinute": 10000000,
           "monthlyBudgetUsd": "1000.00", "maxConcurrentRequests": 4}}""".formatted(candidate, NAME_MARK));
      assertEquals(201, created.status(), created.body());
      assertEquals(NAME_MARK, created.json().get("name").asText(), "the API shows the name in clear");
      if (hostOf(candidate) == 1) {
        tenant = candidate;
      }
    }
    assertTrue(tenant != null, "no candidate tenant landed on the second node");
    String t = tenant;
    Http.Reply issued = admin("POST", "/admin/tenants/" + tenant + "/keys", null);
    assertEquals(201, issued.status(), issued.body());
    String key = issued.json().get("apiKey").asText();
    Http.Reply hook = admin("POST", "/admin/tenants/" + tenant + "/webhooks", """
        {"url": "%s/%s", "eventTypes": ["invoice.finalized"], "description": "%s"}"""
        .formatted(hookUrl(), URL_MARK, DESCRIPTION_MARK));
    assertEquals(201, hook.status(), hook.body());
    assertTrue(hook.json().get("endpoint").get("url").asText().endsWith(URL_MARK), hook.body());
    TestCluster.infer(cluster.client(0), key, "alert-text", "gdpr-1", "words to be billed");
    String month = admin("GET", "/admin/tenants/" + tenant, null).json().get("month").asText();
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    // the request reaches the rollups, then the month's invoice is drafted and finalized from them
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      Http.Reply usage = admin("GET", "/admin/tenants/" + t + "/usage?month=" + month, null);
      assertEquals(1, usage.json().get("requests").asLong(), usage.body());
      return null;
    });
    Http.Reply draft = admin("POST", "/admin/tenants/" + tenant + "/invoices/" + month + "/draft", null);
    assertEquals(200, draft.status(), draft.body());
    String[] number = new String[1];
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      Http.Reply fin = admin("POST", "/admin/invoices/DRAFT-" + t + "-" + month + "/finalize?early=true", null);
      assertEquals(200, fin.status(), fin.body());
      number[0] = fin.json().get("number").asText();
      return null;
    });
    assertTrue(admin("GET", "/admin/invoices/" + number[0], null).json().get("totalMicros").asLong() > 0);
    String total = admin("GET", "/admin/invoices/" + number[0], null).json().get("totalUsd").asText();
    String spend = admin("GET", "/admin/tenants/" + tenant + "/usage?month=" + month, null).body();
    Http.Reply ledger = admin("GET", "/admin/tenants/" + tenant + "/ledger?month=" + month, null);
    assertEquals(1, ledger.json().get("rows").size(), ledger.body());

    // right of access: everything held about the tenant, in clear
    Http.Reply export = admin("GET", "/admin/tenants/" + tenant + "/export", null);
    assertEquals(200, export.status(), export.body());
    assertEquals(NAME_MARK, export.json().get("tenant").get("name").asText());
    assertTrue(export.json().get("webhookEndpoints").get(0).get("url").asText().endsWith(URL_MARK), export.body());
    assertEquals(DESCRIPTION_MARK, export.json().get("webhookEndpoints").get(0).get("description").asText());
    assertEquals(number[0], export.json().get("invoices").get(0).get("number").asText(), export.body());
    assertFalse(export.body().contains(aimos.tenant.ApiKeys.parse(key).orElseThrow().secret()),
        "no secret in an export");
    // before the erasure the data is there, sealed: the dump already shows none of it in clear, snapshots included
    assertTrue(snapshotsOf(tenant) > 0, "the tenant has snapshots");
    assertEquals(List.of(), plaintextCells(), "personal data stored in clear");

    // refused without the confirmation, and nothing changes
    Http.Reply unconfirmed = admin("POST", "/admin/tenants/" + tenant + "/erase", "{}");
    assertEquals(400, unconfirmed.status(), unconfirmed.body());
    assertTrue(unconfirmed.json().get("error").get("message").asText().contains("\"confirm\": \"" + tenant + "\""),
        unconfirmed.body());
    assertEquals(NAME_MARK, admin("GET", "/admin/tenants/" + tenant, null).json().get("name").asText());

    Http.Reply erase = admin("POST", "/admin/tenants/" + tenant + "/erase", "{\"confirm\": \"" + tenant + "\"}");
    assertEquals(200, erase.status(), erase.body());
    assertEquals(1, erase.json().get("keysRevoked").asInt(), erase.body());
    assertEquals(1, erase.json().get("webhookEndpointsDeleted").asInt(), erase.body());
    Http.Reply again = admin("POST", "/admin/tenants/" + tenant + "/erase", "{\"confirm\": \"" + tenant + "\"}");
    assertEquals(200, again.status(), again.body());
    assertEquals(erase.json().get("erasedAt").asText(), again.json().get("erasedAt").asText());
    assertEquals(0, again.json().get("keysRevoked").asInt());

    assertEquals("[erased]", admin("GET", "/admin/tenants/" + tenant, null).json().get("name").asText());
    assertThrows(Exception.class, () -> TestCluster.infer(cluster.client(0), key, "alert-text", "gdpr-2", "more"));
    Http.Reply newKey = admin("POST", "/admin/tenants/" + tenant + "/keys", null);
    assertEquals(409, newKey.status(), newKey.body());
    assertEquals(0, admin("GET", "/admin/tenants/" + tenant + "/webhooks", null).json().size());
    // the money is kept as it was
    assertEquals(total, admin("GET", "/admin/invoices/" + number[0], null).json().get("totalUsd").asText());
    assertEquals(spend, admin("GET", "/admin/tenants/" + tenant + "/usage?month=" + month, null).body());
    assertEquals(ledger.body(), admin("GET", "/admin/tenants/" + tenant + "/ledger?month=" + month, null).body(),
        "the ledger rows are kept as they were");
    JsonNode after = admin("GET", "/admin/tenants/" + tenant + "/export", null).json();
    assertEquals("[erased]", after.get("tenant").get("name").asText());
    assertEquals(erase.json().get("erasedAt").asText(), after.get("erasedAt").asText());
    assertEquals(List.of(), plaintextCells(), "personal data left in clear after the erasure");
    // the audit log recorded the changes without the personal data
    String audit = Http.call("GET", cluster.managementPort(0), "/admin/audit?limit=1000", TestCluster.SECOPS_TOKEN,
        null).body();
    assertTrue(audit.contains("POST /admin/tenants/{id}/erase"), audit);
    erased = tenant;
    erasedInvoiceTotal = total;
  }

  @Test
  @Order(5)
  void anErasedTenantRecoversOnAnotherNodeWithItsNameRedacted() {
    assertTrue(erased != null, "the erasure test ran first");
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(250), () -> {
      Http.Reply r = admin("GET", "/admin/tenants/" + erased, null);
      assertEquals(200, r.status(), r.body());
      assertEquals("[erased]", r.json().get("name").asText());
      assertEquals(0, hostOf(erased), "recovered from the journal on the remaining node");
      return null;
    });
    Http.Reply invoices = admin("GET", "/admin/tenants/" + erased + "/invoices", null);
    assertEquals(erasedInvoiceTotal, invoices.json().get(0).get("totalUsd").asText(), invoices.body());
  }

  /** The snapshots of a tenant's entity in the snapshot store. */
  private static long snapshotsOf(String tenant) {
    String prefix = cluster.billingKeyspace().substring(0, cluster.billingKeyspace().lastIndexOf('_') + 1);
    try (var cql = com.datastax.oss.driver.api.core.CqlSession.builder()
        .addContactPoint(new InetSocketAddress("127.0.0.1", aimos.cassandra.SharedCassandra.port()))
        .withLocalDatacenter("datacenter1").build()) {
      return cql.execute("SELECT count(*) FROM " + prefix + "snapshot.snapshots WHERE persistence_id = ?",
          aimos.tenant.TenantEntity.persistenceIdOf(tenant)).one().getLong(0);
    }
  }

  /** Every cell of every table of the cluster's keyspaces that holds one of the personal values in clear. */
  private static List<String> plaintextCells() {
    String prefix = cluster.billingKeyspace().substring(0, cluster.billingKeyspace().lastIndexOf('_') + 1);
    List<String> found = new ArrayList<>();
    List<String> marks = List.of(NAME_MARK, "gdprname7f3a", URL_MARK, "gdprmail7f3a");
    try (var cql = com.datastax.oss.driver.api.core.CqlSession.builder()
        .addContactPoint(new InetSocketAddress("127.0.0.1", aimos.cassandra.SharedCassandra.port()))
        .withLocalDatacenter("datacenter1").build()) {
      int tables = 0;
      for (var t : cql.execute("SELECT keyspace_name, table_name FROM system_schema.tables")) {
        String ks = t.getString("keyspace_name");
        if (!ks.startsWith(prefix)) {
          continue;
        }
        tables++;
        String table = ks + "." + t.getString("table_name");
        for (var row : cql.execute("SELECT * FROM " + table)) {
          for (int i = 0; i < row.getColumnDefinitions().size(); i++) {
            java.nio.ByteBuffer raw = row.getBytesUnsafe(i);
            if (raw == null) {
              continue;
            }
            byte[] bytes = new byte[raw.remaining()];
            raw.duplicate().get(bytes);
            String text = new String(bytes, StandardCharsets.ISO_8859_1);
            for (String mark : marks) {
              if (text.contains(mark)) {
                found.add(table + "." + row.getColumnDefinitions().get(i).getName() + " holds " + mark);
              }
            }
          }
        }
      }
      assertTrue(tables >= 10, "the dump found only " + tables + " tables under " + prefix);
    }
    return found;
  }

  @Test
  @Order(4)
  void eachBudgetThresholdIsAnnouncedOnceAlsoAfterTheTenantsNodeStops() {
    // a tenant whose entity lives on the second node, which is stopped half-way
    String tenant = null;
    String key = null;
    for (int i = 0; i < 30 && tenant == null; i++) {
      String candidate = "alerted-" + i;
      String k = Http.tenantWithKey(cluster, candidate, 10_000, 4);
      if (hostOf(candidate) == 1) {
        tenant = candidate;
        key = k;
      }
    }
    assertTrue(tenant != null, "no candidate tenant landed on the second node");
    String t = tenant;
    Http.Reply endpoint = admin("POST", "/admin/tenants/" + tenant + "/webhooks", """
        {"url": "%s", "eventTypes": ["budget.threshold_crossed"]}""".formatted(hookUrl()));
    assertEquals(201, endpoint.status(), endpoint.body());
    String endpointId = endpoint.json().get("endpoint").get("id").asText();

    var client = cluster.client(0);
    InferResponse first = TestCluster.infer(client, key, "alert-text", "alert-1", "the same words every time");
    long charge = aimos.tenant.Money.parseUsd(first.getUsage().getChargeUsd());
    assertTrue(charge > 0);
    // a budget of ten such requests: 10 % spent so far; alerts at 20 % and 50 %
    assertEquals(200, admin("PUT", "/admin/tenants/" + tenant + "/plan", """
        {"requestsPerMinute": 10000, "tokensPerMinute": 10000000, "monthlyBudgetUsd": "%s",
         "maxConcurrentRequests": 4}""".formatted(aimos.tenant.Money.format(charge * 10))).status());
    Http.Reply set = admin("PUT", "/admin/tenants/" + tenant + "/budget-alerts", "{\"thresholds\": [20, 50]}");
    assertEquals(200, set.status(), set.body());
    assertEquals("[20,50]", set.json().get("thresholds").toString());

    TestCluster.infer(client, key, "alert-text", "alert-2", "the same words every time");
    long t0 = System.nanoTime();
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
      assertEquals(1, alertsOf(t).size());
      return null;
    });
    System.out.println("budget alert delivered " + (System.nanoTime() - t0) / 1_000_000 + " ms after the crossing "
        + "request was answered");
    assertEquals(20, alertsOf(tenant).get(0).get("data").get("thresholdPercent").asInt());
    assertEquals(WebhookSignature.webhookId("budget.threshold_crossed:" + tenant + ":"
        + alertsOf(tenant).get(0).get("data").get("month").asText() + ":20"), receivedIds.get(receivedIds.size() - 1));

    cluster.nodes.get(1).shutdown();
    probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(250), () -> {
      assertEquals(200, admin("GET", "/admin/tenants/" + t, null).status());
      assertEquals(0, hostOf(t));
      return null;
    });
    for (int i = 3; i <= 5; i++) {
      TestCluster.infer(client, key, "alert-text", "alert-" + i, "the same words every time");
    }
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
      assertEquals(2, alertsOf(t).size());
      return null;
    });
    JsonNode status = admin("GET", "/admin/tenants/" + tenant + "/budget-alerts", null).json();
    assertEquals("[20,50]", status.get("crossed").toString());
    // once each: the threshold crossed before the stop was not announced again after it
    assertEquals(List.of(20, 50), alertsOf(tenant).stream().map(b -> b.get("data").get("thresholdPercent").asInt())
        .toList());
    probe.awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> {
      JsonNode deliveries = admin("GET", "/admin/tenants/" + t + "/webhooks/" + endpointId + "/deliveries", null)
          .json();
      assertEquals(2, deliveries.size(), deliveries.toString());
      for (JsonNode d : deliveries) {
        assertEquals("delivered", d.get("status").asText(), d.toString());
        assertEquals(204, d.get("attemptLog").get(0).get("status").asInt());
      }
      return null;
    });
    // the node that delivered after the stop counts it
    String metrics = Http.call("GET", cluster.managementPort(0), "/metrics", null, null).body();
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("aimos_webhook_attempts_total{outcome=\"delivered\",}")
        && !l.endsWith(" 0.0")), metrics.lines().filter(l -> l.contains("webhook")).toList().toString());
  }
}
