package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.cli.AimosCli;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The aimos command line against a real node: each admin command's happy path through the management API, a
 * refused token and an unreachable node. The CLI runs in this process with its environment given as a map.
 */
class CliIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestCluster cluster;
  private static Map<String, String> env;

  record Run(int status, String out, String err) {
    JsonNode json() {
      try {
        return JSON.readTree(out);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + this, e);
      }
    }

    Run ok() {
      assertEquals(0, status, toString());
      assertTrue(err.isEmpty(), toString());
      return this;
    }

    @Override
    public String toString() {
      return "exit " + status + "\nstdout:\n" + out + "\nstderr:\n" + err;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, "aimos.webhooks.allow-private-targets = on\naimos.webhooks.poll-interval = 200ms");
    Http.textModel(cluster, "cli-text");
    cluster.awaitWorkerReady("cli-text", "v1");
    env = Map.of("AIMOS_MANAGEMENT", "127.0.0.1:" + cluster.managementPort(0),
        "AIMOS_ADMIN_TOKEN", TestCluster.ADMIN_TOKEN, "AIMOS_DEV_PLAINTEXT", "1");
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static Run aimos(Map<String, String> environment, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = AimosCli.execute(args, environment, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(status, out.toString(), err.toString());
  }

  private static Run aimos(String... args) {
    return aimos(env, args);
  }

  @Test
  void tenantsAndKeys() {
    JsonNode created = aimos("tenants", "create", "cli-a", "--name", "CLI A", "--requests-per-minute", "600",
        "--tokens-per-minute", "100000", "--monthly-budget-usd", "100.00", "--max-concurrent-requests", "8", "-o",
        "json").ok().json();
    assertEquals("cli-a", created.get("id").asText());
    assertEquals("CLI A", created.get("name").asText());

    Run yaml = aimos("tenants", "get", "cli-a", "-o", "yaml").ok();
    assertTrue(yaml.out().contains("id: cli-a") && yaml.out().contains("requestsPerMinute: 600"), yaml.toString());

    Run table = aimos("tenants", "get", "cli-a").ok();
    assertTrue(table.out().startsWith("FIELD"), table.toString());
    assertTrue(table.out().contains("plan.monthlyBudgetUsd"), table.toString());

    JsonNode changed = aimos("tenants", "set-plan", "cli-a", "--requests-per-minute", "1200", "-o", "json").ok()
        .json();
    assertEquals(1200, changed.at("/plan/requestsPerMinute").asLong());
    assertEquals(100000, changed.at("/plan/tokensPerMinute").asLong(), "limits not given keep their value");

    JsonNode issued = aimos("keys", "issue", "cli-a", "-o", "json").ok().json();
    String keyId = issued.get("keyId").asText();
    assertFalse(issued.get("apiKey").asText().isEmpty());
    assertEquals("inference", issued.get("scope").asText());

    Run keys = aimos("keys", "list", "cli-a").ok();
    assertTrue(keys.out().startsWith("KEYID"), keys.toString());
    assertTrue(keys.out().contains(keyId), keys.toString());

    JsonNode afterRevoke = aimos("keys", "revoke", "cli-a", keyId, "-o", "json").ok().json();
    boolean revoked = false;
    for (JsonNode k : afterRevoke) {
      revoked |= k.get("keyId").asText().equals(keyId) && k.get("revoked").asBoolean();
    }
    assertTrue(revoked, afterRevoke.toString());

    Run missing = aimos("tenants", "get", "cli-nobody");
    assertEquals(1, missing.status(), missing.toString());
    assertTrue(missing.err().startsWith("error: not found (404)"), missing.toString());
    assertEquals(1, missing.err().lines().count(), missing.toString());
  }

  @Test
  void readsOfUsageLedgerModelsSandboxesAndTokens() {
    aimos("tenants", "create", "cli-b", "--requests-per-minute", "600", "--tokens-per-minute", "100000",
        "--monthly-budget-usd", "10", "--max-concurrent-requests", "4").ok();

    Run models = aimos("models", "list", "-o", "json").ok();
    boolean listed = false;
    for (JsonNode m : models.json()) {
      listed |= m.get("name").asText().equals("cli-text");
    }
    assertTrue(listed, models.toString());
    assertTrue(aimos("models", "list").ok().out().contains("cli-text"));

    JsonNode usage = aimos("usage", "cli-b", "-o", "json").ok().json();
    assertEquals(0, usage.get("requests").asLong(), usage.toString());
    aimos("usage", "cli-b", "--daily").ok();
    aimos("usage", "cli-b", "--hourly", "-o", "yaml").ok();

    JsonNode ledger = aimos("ledger", "cli-b", "-o", "json").ok().json();
    assertTrue(ledger.get("rows").isArray() && ledger.get("rows").isEmpty(), ledger.toString());

    aimos("sandboxes").ok();
    aimos("sandboxes", "-o", "json").ok().json();

    JsonNode reconcile = aimos("reconcile", "--tenant", "cli-b", "--dry-run", "-o", "json").ok().json();
    assertEquals(1, reconcile.get("tenants").asInt(), reconcile.toString());
    assertEquals(0, reconcile.get("missing").asLong(), reconcile.toString());

    JsonNode tokens = aimos("tokens", "list", "-o", "json").ok().json();
    assertTrue(tokens.isArray(), tokens.toString());

    assertEquals("cli-text", aimos("models", "get", "cli-text", "-o", "json").ok().json().get("name").asText());
    aimos("models", "leases", "cli-text").ok();
    aimos("tenants", "location", "cli-b").ok();
    JsonNode invoices = aimos("invoices", "list", "cli-b", "-o", "json").ok().json();
    assertTrue(invoices.isArray() && invoices.isEmpty(), invoices.toString());
    Run noInvoice = aimos("invoices", "get", "AIMOS-1999-000001");
    assertEquals(1, noInvoice.status(), noInvoice.toString());

    assertEquals("admin", aimos("whoami", "-o", "json").ok().json().get("role").asText());

    Map<String, String> secops = new HashMap<>(env);
    secops.put("AIMOS_SECOPS_TOKEN", TestCluster.SECOPS_TOKEN);
    Run audit = aimos(secops, "audit", "verify").ok();
    assertTrue(audit.out().contains("OK: "), audit.toString());
    assertFalse(aimos("version").ok().out().isBlank());
  }

  private static java.net.http.HttpResponse<String> chat(String apiKey, String requestId) throws Exception {
    // HTTP/1.1 as the OpenAI SDKs speak it (a cleartext h2c upgrade of a POST is a separate matter)
    var r = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
            "http://127.0.0.1:" + cluster.nodes.get(0).gatewayPort() + "/v1/chat/completions"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + apiKey)
        .header("Idempotency-Key", requestId)
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
            "{\"model\": \"cli-text\", \"messages\": [{\"role\": \"user\", \"content\": \"hello there\"}]}"))
        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    return OpenApiContract.check("POST", "/v1/chat/completions", r);
  }

  @Test
  void tenantsListedSuspendedAndResumedAndASuspendedTenantsRequestsRefusedUnbilled() throws Exception {
    for (String id : new String[] {"cli-s1", "cli-s2", "cli-s3"}) {
      aimos("tenants", "create", id, "--requests-per-minute", "600", "--tokens-per-minute", "100000",
          "--monthly-budget-usd", "10", "--max-concurrent-requests", "4").ok();
    }
    String key = aimos("keys", "issue", "cli-s1", "-o", "json").ok().json().get("apiKey").asText();
    var first = chat(key, "s1-before");
    assertEquals(200, first.statusCode(), first.body());

    // pages of two, in creation order, each tenant once
    java.util.List<String> seen = new java.util.ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      JsonNode page = (cursor == null ? aimos("tenants", "list", "--limit", "2", "-o", "json")
          : aimos("tenants", "list", "--limit", "2", "--cursor", cursor, "-o", "json")).ok().json();
      assertTrue(page.get("tenants").size() <= 2, page.toString());
      page.get("tenants").forEach(t -> {
        seen.add(t.get("id").asText());
        assertEquals("active", t.get("status").asText(), t.toString());
        assertTrue(t.at("/plan/requestsPerMinute").isNumber(), t.toString());
      });
      cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
      pages++;
    } while (cursor != null && pages < 100);
    assertEquals(seen.size(), new java.util.HashSet<>(seen).size(), seen.toString());
    assertTrue(seen.indexOf("cli-s1") >= 0 && seen.indexOf("cli-s1") < seen.indexOf("cli-s2")
        && seen.indexOf("cli-s2") < seen.indexOf("cli-s3"), seen.toString());
    Run table = aimos("tenants", "list").ok();
    assertTrue(table.out().contains("cli-s2") && table.out().contains("STATUS"), table.toString());
    Run badLimit = aimos("tenants", "list", "--limit", "101");
    assertEquals(2, badLimit.status(), badLimit.toString());
    var tooMany = Http.call("GET", cluster.managementPort(0), "/admin/tenants?limit=101", TestCluster.ADMIN_TOKEN,
        null);
    assertEquals(400, tooMany.status(), tooMany.body());
    assertTrue(tooMany.body().contains("limit must be a whole number from 1 to 100"), tooMany.body());
    assertEquals(400, Http.call("GET", cluster.managementPort(0), "/admin/tenants?cursor=-3", TestCluster.ADMIN_TOKEN,
        null).status());

    JsonNode suspended = aimos("tenants", "suspend", "cli-s1", "--reason", "unpaid invoice", "-o", "json").ok()
        .json();
    assertEquals("suspended", suspended.get("status").asText());
    assertEquals("unpaid invoice", suspended.get("suspendReason").asText());
    // again: the same, first reason kept
    assertEquals("unpaid invoice", aimos("tenants", "suspend", "cli-s1", "-o", "json").ok().json()
        .get("suspendReason").asText());
    assertEquals("suspended", aimos("tenants", "get", "cli-s1", "-o", "json").ok().json().get("status").asText());

    var refused = chat(key, "s1-during");
    assertEquals(403, refused.statusCode(), refused.body());
    JsonNode error = JSON.readTree(refused.body()).get("error");
    assertEquals("tenant_suspended", error.get("code").asText(), refused.body());
    assertTrue(error.get("message").asText().contains("tenant cli-s1 is suspended (unpaid invoice)")
        && error.get("message").asText().contains("contact the operator"), refused.body());
    var grpc = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
        () -> TestCluster.infer(cluster.client(0), key, "cli-text", "s1-grpc", "hello"));
    var status = io.grpc.Status.fromThrowable(grpc.getCause());
    assertEquals(io.grpc.Status.Code.PERMISSION_DENIED, status.getCode());
    assertTrue(status.getDescription().startsWith("tenant_suspended: tenant cli-s1 is suspended"), status.toString());
    assertEquals(1, aimos("tenants", "get", "cli-s1", "-o", "json").ok().json().get("monthRequests").asLong(),
        "nothing billed while suspended");
    // other tenants are not touched
    assertEquals("active", aimos("tenants", "get", "cli-s2", "-o", "json").ok().json().get("status").asText());

    JsonNode resumed = aimos("tenants", "resume", "cli-s1", "-o", "json").ok().json();
    assertEquals("active", resumed.get("status").asText());
    assertFalse(resumed.has("suspendReason"), resumed.toString());
    aimos("tenants", "resume", "cli-s1").ok();
    assertEquals(200, chat(key, "s1-after").statusCode(), "the same key admits again");
    assertEquals(2, aimos("tenants", "get", "cli-s1", "-o", "json").ok().json().get("monthRequests").asLong());

    Run unknown = aimos("tenants", "suspend", "cli-nobody");
    assertEquals(1, unknown.status(), unknown.toString());
    assertTrue(unknown.err().startsWith("error: not found (404)"), unknown.toString());
    Map<String, String> secops = new HashMap<>(env);
    secops.put("AIMOS_ADMIN_TOKEN", TestCluster.SECOPS_TOKEN);
    Run forbidden = aimos(secops, "tenants", "suspend", "cli-s2");
    assertTrue(forbidden.err().startsWith("error: forbidden (403)"), forbidden.toString());

    // both changes are in the audit trail
    var audit = Http.call("GET", cluster.managementPort(0), "/admin/audit?limit=1000", TestCluster.SECOPS_TOKEN, null);
    assertTrue(audit.body().contains("POST /admin/tenants/{id}/suspend")
        && audit.body().contains("POST /admin/tenants/{id}/resume"), audit.body());
  }

  @Test
  void aRetiredVersionTakesNoRequestsStaysListedAndItsSandboxStops() throws Exception {
    Http.model(cluster, "cli-retire", "echo-text", "TOKENS", 1);
    aimos("models", "add-version", "cli-retire", "--version", "v2", "--runtime", "echo-text", "--billing-unit",
        "TOKENS").ok();
    String key = Http.tenantWithKey(cluster, "cli-r", 600, 4);
    // both versions serve before, once their sandboxes are up
    for (String version : new String[] {"v1", "v2"}) {
      cluster.awaitWorkerReady("cli-retire", version);
      assertEquals(version, cluster.client(0).infer().addHeader("authorization", "Bearer " + key).invoke(
          aimos.api.v1.InferRequest.newBuilder().setModel("cli-retire").setVersion(version)
              .setRequestId("r-" + version).setText(aimos.api.v1.TextInput.newBuilder().setPrompt("hello there"))
              .build()).toCompletableFuture().join().getVersion());
    }

    JsonNode retired = aimos("models", "retire", "cli-retire", "v1", "-o", "json").ok().json();
    assertEquals("v1", retired.get("retiredVersions").get(0).asText(), retired.toString());
    assertEquals("v2", retired.get("defaultVersion").asText());
    aimos("models", "retire", "cli-retire", "v1").ok();
    JsonNode view = aimos("models", "get", "cli-retire", "-o", "json").ok().json();
    assertEquals(2, view.get("versions").size(), "a retired version stays readable: " + view);
    assertEquals("[\"v1\"]", view.get("retiredVersions").toString());

    var refused = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
        () -> cluster.client(0).infer().addHeader("authorization", "Bearer " + key).invoke(
            aimos.api.v1.InferRequest.newBuilder().setModel("cli-retire").setVersion("v1").setRequestId("r-after")
                .setText(aimos.api.v1.TextInput.newBuilder().setPrompt("hello")).build())
            .toCompletableFuture().join());
    var status = io.grpc.Status.fromThrowable(refused.getCause());
    assertEquals(io.grpc.Status.Code.NOT_FOUND, status.getCode());
    assertEquals("model cli-retire version v1 is retired and takes no new requests; use version v2 (the default: "
        + "name no version)", status.getDescription());
    assertEquals("v2", TestCluster.infer(cluster.client(0), key, "cli-retire", "r-default", "hello").getVersion());

    // its sandbox is stopped (no request of it is in flight); the other version's keeps running
    awaitAssert(() -> {
      JsonNode sandboxes = Http.call("GET", cluster.managementPort(0), "/admin/sandboxes", TestCluster.ADMIN_TOKEN,
          null).json();
      assertFalse(hasSandbox(sandboxes, "cli-retire", "v1"), sandboxes.toString());
      assertTrue(hasSandbox(sandboxes, "cli-retire", "v2"), sandboxes.toString());
      return null;
    });

    Run unknown = aimos("models", "retire", "cli-retire", "v9");
    assertEquals(1, unknown.status(), unknown.toString());
    assertTrue(unknown.err().startsWith("error: not found (404)") && unknown.err().contains("versions: v1, v2"),
        unknown.toString());
    Run usage = aimos("models", "retire", "cli-retire");
    assertEquals(2, usage.status(), usage.toString());
  }

  /** Asserts until it holds (30 s at most, every 300 ms); returns what the last try returned. */
  private static <T> T awaitAssert(org.apache.pekko.japi.function.Creator<T> check) {
    return org.apache.pekko.actor.testkit.typed.javadsl.TestProbe.create(cluster.nodes.get(0).system())
        .awaitAssert(java.time.Duration.ofSeconds(30), java.time.Duration.ofMillis(300), check);
  }

  /** Whether any node's sandbox list names a sandbox of the model version. */
  private static boolean hasSandbox(JsonNode answer, String model, String version) {
    boolean[] found = {false};
    answer.findParents("model").forEach(s -> found[0] |= s.path("model").asText().equals(model)
        && s.path("version").asText().equals(version));
    return found[0];
  }

  @Test
  void adminTokensIssuedRotatedAndRevoked() {
    JsonNode issued = aimos("tokens", "issue", "--name", "cli-viewer", "--role", "viewer", "-o", "json").ok().json();
    String id = issued.get("id").asText();
    String token = issued.get("token").asText();
    assertEquals("viewer", issued.get("role").asText());

    Map<String, String> viewer = new HashMap<>(env);
    viewer.put("AIMOS_ADMIN_TOKEN", token);
    assertEquals("viewer", aimos(viewer, "whoami", "-o", "json").ok().json().get("role").asText());
    Run forbidden = aimos(viewer, "tenants", "create", "cli-v", "--requests-per-minute", "1", "--tokens-per-minute",
        "1", "--monthly-budget-usd", "1", "--max-concurrent-requests", "1");
    assertEquals(1, forbidden.status(), forbidden.toString());
    assertTrue(forbidden.err().startsWith("error: forbidden (403)"), forbidden.toString());

    JsonNode rotated = aimos("tokens", "rotate", id, "-o", "json").ok().json();
    assertFalse(rotated.get("token").asText().equals(token), rotated.toString());
    aimos("tokens", "revoke", id).ok();
    boolean revoked = false;
    for (JsonNode t : aimos("tokens", "list", "-o", "json").ok().json()) {
      revoked |= t.get("id").asText().equals(id) && !t.get("revokedAt").isNull();
    }
    assertTrue(revoked, "tokens list shows it revoked");
  }

  @Test
  void overTlsTrustingTheClustersCa() throws Exception {
    TestCerts ca = TestCerts.authority("cli-it-ca");
    try (TestCluster tls = TestCluster.startTls(1, ca, "")) {
      Map<String, String> trusting = Map.of("AIMOS_MANAGEMENT", "127.0.0.1:" + tls.managementPort(0),
          "AIMOS_ADMIN_TOKEN", TestCluster.ADMIN_TOKEN, "AIMOS_TLS_CA_FILE", ca.caCert.toString());
      assertEquals("admin", aimos(trusting, "whoami", "-o", "json").ok().json().get("role").asText());
      aimos(trusting, "tenants", "create", "cli-tls", "--requests-per-minute", "60", "--tokens-per-minute", "1000",
          "--monthly-budget-usd", "1", "--max-concurrent-requests", "1").ok();

      Map<String, String> plaintext = new HashMap<>(trusting);
      plaintext.remove("AIMOS_TLS_CA_FILE");
      plaintext.put("AIMOS_DEV_PLAINTEXT", "1");
      Run r = aimos(plaintext, "whoami");
      assertEquals(1, r.status(), r.toString());
      assertTrue(r.err().contains("reached in plaintext") && r.err().contains("AIMOS_TLS_CA_FILE"), r.toString());

      Map<String, String> badCa = new HashMap<>(trusting);
      badCa.put("AIMOS_TLS_CA_FILE", ca.dir.resolve("no-such-ca.crt").toString());
      Run missing = aimos(badCa, "whoami");
      assertEquals(1, missing.status(), missing.toString());
      assertTrue(missing.err().contains("AIMOS_TLS_CA_FILE"), missing.toString());
      assertEquals(1, missing.err().lines().count(), missing.toString());
    }
  }

  @Test
  void aRefusedTokenIsAFailureWithWhatToDo() {
    Map<String, String> bad = new HashMap<>(env);
    bad.put("AIMOS_ADMIN_TOKEN", "not-the-token-of-this-cluster");
    Run r = aimos(bad, "tenants", "get", "cli-a");
    assertEquals(1, r.status(), r.toString());
    assertTrue(r.err().contains("refused the token (401"), r.toString());
    assertTrue(r.err().contains("AIMOS_ADMIN_TOKEN"), r.toString());
    assertTrue(r.out().isEmpty(), r.toString());
  }

  @Test
  void anUnreachableNodeIsAFailureWithWhatToDo() throws Exception {
    int port;
    try (var s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Run r = aimos("sandboxes", "--management", "127.0.0.1:" + port);
    assertEquals(1, r.status(), r.toString());
    assertTrue(r.err().startsWith("error: cannot reach the management API at 127.0.0.1:" + port), r.toString());
    assertEquals(1, r.err().lines().count(), r.toString());
  }

  /** One gRPC request to cli-text (its sandbox is up: the cluster waited for it). */
  private static aimos.api.v1.InferResponse inferText(String key, String requestId) {
    return TestCluster.infer(cluster.client(0), key, "cli-text", requestId, "the same words every time");
  }

  @Test
  void webhooksBudgetAlertsPricesExportSlaAndInvoiceClose() throws Exception {
    java.util.List<JsonNode> received = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    com.sun.net.httpserver.HttpServer receiver = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress("127.0.0.1", 0), 16);
    receiver.createContext("/hook", ex -> {
      received.add(JSON.readTree(ex.getRequestBody().readAllBytes()));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    receiver.start();
    try {
      String url = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook";
      aimos("tenants", "create", "cli-w", "--requests-per-minute", "600", "--tokens-per-minute", "100000",
          "--monthly-budget-usd", "1000", "--max-concurrent-requests", "4").ok();
      String key = aimos("keys", "issue", "cli-w", "-o", "json").ok().json().get("apiKey").asText();

      JsonNode added = aimos("webhooks", "add", "cli-w", "--url", url, "--event-types", "budget.threshold_crossed",
          "--description", "alerts", "-o", "json").ok().json();
      String endpoint = added.at("/endpoint/id").asText();
      String secret = added.get("secret").asText();
      assertTrue(secret.startsWith("whsec_"), added.toString());
      assertEquals("[\"budget.threshold_crossed\"]", added.at("/endpoint/eventTypes").toString());
      Run table = aimos("webhooks", "list", "cli-w").ok();
      assertTrue(table.out().contains(endpoint) && !table.out().contains(secret), table.toString());
      assertEquals(endpoint, aimos("webhooks", "get", "cli-w", endpoint, "-o", "json").ok().json().get("id").asText());

      assertFalse(aimos("webhooks", "disable", "cli-w", endpoint, "-o", "json").ok().json().get("enabled")
          .asBoolean());
      assertFalse(aimos("webhooks", "list", "cli-w", "-o", "json").ok().json().get(0).get("enabled").asBoolean());
      assertTrue(aimos("webhooks", "enable", "cli-w", endpoint, "-o", "json").ok().json().get("enabled")
          .asBoolean());
      String rotated = aimos("webhooks", "rotate-secret", "cli-w", endpoint, "-o", "json").ok().json()
          .get("secret").asText();
      assertTrue(rotated.startsWith("whsec_") && !rotated.equals(secret), rotated);

      // a budget of ten requests like the first, alerts at 20 % and 50 %: the second request crosses 20 %
      long charge = aimos.tenant.Money.parseUsd(inferText(key, "cli-w-1").getUsage().getChargeUsd());
      assertTrue(charge > 0);
      aimos("tenants", "set-plan", "cli-w", "--monthly-budget-usd", aimos.tenant.Money.format(charge * 10)).ok();
      JsonNode alerts = aimos("tenants", "set-budget-alerts", "cli-w", "--thresholds", "20,50", "-o", "json").ok()
          .json();
      assertEquals("[20,50]", alerts.get("thresholds").toString());
      assertEquals("[]", alerts.get("crossed").toString());
      inferText(key, "cli-w-2");
      JsonNode deliveries = awaitAssert(() -> {
        JsonNode d = aimos("webhooks", "deliveries", "cli-w", endpoint, "--limit", "10", "-o", "json").ok().json();
        assertEquals(1, d.size(), d.toString());
        assertEquals("delivered", d.get(0).get("status").asText(), d.toString());
        return d;
      });
      assertEquals(204, deliveries.get(0).at("/attemptLog/0/status").asInt(), deliveries.toString());
      assertEquals(1, received.size(), received.toString());
      assertEquals(20, received.get(0).at("/data/thresholdPercent").asInt(), received.toString());
      assertEquals("[20]", aimos("tenants", "budget-alerts", "cli-w", "-o", "json").ok().json().get("crossed")
          .toString());

      JsonNode prices = aimos("prices", "list", "-o", "json").ok().json();
      assertTrue(prices.get("lists").size() >= 1, prices.toString());
      assertTrue(prices.get("inForce").asLong() >= 1, prices.toString());
      Run tooSoon = aimos("prices", "add", "--effective-from", java.time.Instant.now().toString().replaceAll(
          "\\.[0-9]+Z$", "Z"), "--tokens-per-1k-usd", "0.03", "--image-usd", "0.01", "--audio-minute-usd", "0.10");
      assertEquals(1, tooSoon.status(), tooSoon.toString());
      assertTrue(tooSoon.err().startsWith("error: refused (400)"), tooSoon.toString());

      JsonNode export = aimos("tenants", "export", "cli-w").ok().json();
      assertEquals("cli-w", export.get("tenantId").asText(), export.toString());
      assertEquals(endpoint, export.at("/webhookEndpoints/0/id").asText(), export.toString());
      assertEquals(2, export.at("/tenant/monthRequests").asLong(), export.toString());

      String month = java.time.YearMonth.now(java.time.ZoneOffset.UTC).toString();
      // the evidence reads the events the month's rollups hold, which follow the journal by a second or so
      JsonNode sla = awaitAssert(() -> {
        JsonNode s = aimos("tenants", "sla", "cli-w", "--month", month, "-o", "json").ok().json();
        assertEquals(2, s.get("eligibleRequests").asLong(), s.toString());
        return s;
      });
      assertEquals(month, sla.get("month").asText(), sla.toString());
      // how many were over 100 ms depends on the machine; the evidence names each of them
      assertEquals(sla.get("overThreshold").asLong(), sla.get("overRequestIds").size(), sla.toString());
      sla.get("overRequestIds").forEach(id -> assertTrue(id.asText().startsWith("cli-w-"), id.toString()));

      JsonNode closed = aimos("invoices", "close", "-o", "json").ok().json();
      // nothing before this month to close on a cluster started today: an answer that says so
      assertEquals(0, closed.get("invoiced").asLong(), closed.toString());
      assertTrue(closed.get("closedMonths").isNumber() && closed.get("attempts").isArray()
          && closed.has("asOf"), closed.toString());

      assertTrue(aimos("webhooks", "delete", "cli-w", endpoint, "-o", "json").ok().json().get("deleted")
          .asBoolean());
      assertEquals(0, aimos("webhooks", "list", "cli-w", "-o", "json").ok().json().size());
      Run gone = aimos("webhooks", "get", "cli-w", endpoint);
      assertEquals(1, gone.status(), gone.toString());
      assertTrue(gone.err().startsWith("error: not found (404)"), gone.toString());
    } finally {
      receiver.stop(0);
    }
  }
}
