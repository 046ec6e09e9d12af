package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.node.access.AccessPolicy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Admin tokens with roles on a real node: the whole role x route matrix, the token lifecycle (issue, rotate with
 * overlap, revoke) and the throttle on failed logins.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AccessIT {
  private static TestCluster cluster;
  private static int port;

  @BeforeAll
  static void start() throws Exception {
    // the throttle test runs last: its address stays blocked for the rest of this cluster's life
    // private webhook targets and drill reports out of the source tree: the audit walk registers endpoints on this
    // host and runs a drill
    String reports = java.nio.file.Files.createTempDirectory("aimos-access-drills").toString();
    cluster = TestCluster.start(1, "aimos.access.failed-logins { burst = 5, refill-interval = 1h }\n"
        + "aimos.webhooks.allow-private-targets = on\naimos.chaos.report-dir = \"" + reports + "\"");
    port = cluster.managementPort(0);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static Http.Reply call(String method, String path, String token, String body) {
    return Http.call(method, port, path, token, body);
  }

  private static String issue(String name, String role) {
    Http.Reply r = call("POST", "/admin/tokens", TestCluster.ADMIN_TOKEN,
        "{\"name\": \"" + name + "\", \"role\": \"" + role + "\"}");
    assertEquals(201, r.status(), r.body());
    assertEquals(role, r.json().get("role").asText());
    return r.json().get("token").asText();
  }

  /**
   * The intended matrix, one line per route: method, template, a concrete call that changes nothing even when it is
   * allowed (unknown ids, invalid bodies), and the roles besides admin that may call it ({@code -admin}: not even
   * admin).
   */
  private record Case(String method, String template, String path, String body, Set<String> roles) {}

  private static final List<Case> MATRIX = List.of(
      c("GET", "/admin/whoami", "/admin/whoami", null, "operator billing secops viewer"),
      c("POST", "/admin/tenants", "/admin/tenants", "{}", "operator billing"),
      c("GET", "/admin/tenants/{id}", "/admin/tenants/no-such-tenant", null, "viewer operator billing"),
      c("PUT", "/admin/tenants/{id}/plan", "/admin/tenants/no-such-tenant/plan", "{}", "billing"),
      c("GET", "/admin/tenants", "/admin/tenants?limit=0", null, "viewer operator billing"),
      c("POST", "/admin/tenants/{id}/suspend", "/admin/tenants/no-such-tenant/suspend", null, "operator billing"),
      c("POST", "/admin/tenants/{id}/resume", "/admin/tenants/no-such-tenant/resume", null, "operator billing"),
      c("POST", "/admin/tenants/{id}/keys", "/admin/tenants/no-such-tenant/keys", null, "operator"),
      c("DELETE", "/admin/tenants/{id}/keys/{key}", "/admin/tenants/no-such-tenant/keys/key-0", null, "operator"),
      c("GET", "/admin/tenants/{id}/location", "/admin/tenants/Bad_Id/location", null, "viewer operator"),
      c("GET", "/admin/tenants/{id}/journal-writers", "/admin/tenants/Bad_Id/journal-writers", null,
          "viewer operator"),
      c("GET", "/admin/tenants/{id}/usage", "/admin/tenants/no-such-tenant/usage", null, "viewer billing"),
      c("GET", "/admin/tenants/{id}/usage/daily", "/admin/tenants/no-such-tenant/usage/daily", null,
          "viewer billing"),
      c("GET", "/admin/tenants/{id}/usage/hourly", "/admin/tenants/no-such-tenant/usage/hourly", null,
          "viewer billing"),
      c("GET", "/admin/tenants/{id}/usage/lines", "/admin/tenants/no-such-tenant/usage/lines", null,
          "viewer billing"),
      c("GET", "/admin/tenants/{id}/ledger", "/admin/tenants/no-such-tenant/ledger", null, "viewer billing"),
      c("GET", "/admin/tenants/{id}/ledger/export", "/admin/tenants/no-such-tenant/ledger/export", null,
          "viewer billing"),
      c("GET", "/admin/prices", "/admin/prices", null, "viewer operator billing"),
      c("GET", "/admin/tenants/{id}/invoices", "/admin/tenants/no-such-tenant/invoices", null, "viewer billing"),
      c("GET", "/admin/tenants/{id}/sla", "/admin/tenants/no-such-tenant/sla?month=2026-11", null, "viewer billing"),
      c("POST", "/admin/tenants/{id}/invoices/{month}/draft", "/admin/tenants/no-such-tenant/invoices/2026-13/draft",
          null, "billing"),
      c("GET", "/admin/invoices/{number}", "/admin/invoices/AIMOS-1999-000000", null, "viewer billing"),
      c("POST", "/admin/invoices/{number}/finalize", "/admin/invoices/AIMOS-1999-000000/finalize", null, "billing"),
      c("POST", "/admin/invoices/close", "/admin/invoices/close", null, "billing"),
      c("POST", "/admin/invoices/{number}/void", "/admin/invoices/AIMOS-1999-000000/void", null, "billing"),
      c("GET", "/admin/invoices/{number}/credit-notes", "/admin/invoices/AIMOS-1999-000000/credit-notes", null,
          "viewer billing"),
      c("POST", "/admin/invoices/{number}/credit-notes", "/admin/invoices/AIMOS-1999-000000/credit-notes", "{}",
          "billing"),
      c("GET", "/admin/tenants/{id}/budget-alerts", "/admin/tenants/no-such-tenant/budget-alerts", null,
          "viewer operator billing"),
      c("PUT", "/admin/tenants/{id}/budget-alerts", "/admin/tenants/no-such-tenant/budget-alerts", "{}", "billing"),
      c("GET", "/admin/tenants/{id}/webhooks", "/admin/tenants/no-such-tenant/webhooks", null,
          "viewer operator billing"),
      c("POST", "/admin/tenants/{id}/webhooks", "/admin/tenants/no-such-tenant/webhooks", "{}", "operator billing"),
      c("GET", "/admin/tenants/{id}/webhooks/{endpoint}", "/admin/tenants/no-such-tenant/webhooks/ep-1", null,
          "viewer operator billing"),
      c("DELETE", "/admin/tenants/{id}/webhooks/{endpoint}", "/admin/tenants/no-such-tenant/webhooks/ep-1", null,
          "operator billing"),
      c("POST", "/admin/tenants/{id}/webhooks/{endpoint}/disable",
          "/admin/tenants/no-such-tenant/webhooks/ep-1/disable", null, "operator billing"),
      c("POST", "/admin/tenants/{id}/webhooks/{endpoint}/enable",
          "/admin/tenants/no-such-tenant/webhooks/ep-1/enable", null, "operator billing"),
      c("POST", "/admin/tenants/{id}/webhooks/{endpoint}/rotate-secret",
          "/admin/tenants/no-such-tenant/webhooks/ep-1/rotate-secret", null, "operator billing"),
      c("GET", "/admin/tenants/{id}/webhooks/{endpoint}/deliveries",
          "/admin/tenants/no-such-tenant/webhooks/ep-1/deliveries", null, "viewer operator billing"),
      c("POST", "/admin/prices", "/admin/prices", "{}", "billing"),
      c("POST", "/admin/reconciliation", "/admin/reconciliation?tenant=Bad_Id", null, "operator billing"),
      c("GET", "/admin/models", "/admin/models", null, "viewer operator billing"),
      c("POST", "/admin/models", "/admin/models", "{}", "operator"),
      c("GET", "/admin/models/{name}", "/admin/models/no-such-model", null, "viewer operator billing"),
      c("POST", "/admin/models/{name}/versions", "/admin/models/no-such-model/versions", "{}", "operator"),
      c("POST", "/admin/models/{name}/versions/{version}/retire", "/admin/models/no-such-model/versions/v1/retire",
          null, "operator"),
      c("GET", "/admin/models/{name}/leases", "/admin/models/no-such-model/leases", null, "viewer operator"),
      c("GET", "/admin/sandboxes", "/admin/sandboxes", null, "viewer operator secops"),
      c("POST", "/admin/sandboxes/{model}/{version}/faults", "/admin/sandboxes/no-such-model/v1/faults", "{}",
          "secops -admin"),
      c("POST", "/admin/chaos/drills/{drill}", "/admin/chaos/drills/no-such-drill", null, "secops -admin"),
      c("GET", "/admin/chaos/runs/{id}", "/admin/chaos/runs/no-such-run", null, "viewer secops"),
      // admin alone
      c("GET", "/admin/tokens", "/admin/tokens", null, ""),
      c("POST", "/admin/tokens", "/admin/tokens", "{}", ""),
      c("POST", "/admin/tokens/{id}/rotate", "/admin/tokens/00000000000000ff/rotate", null, ""),
      c("DELETE", "/admin/tokens/{id}", "/admin/tokens/00000000000000ff", null, ""),
      c("GET", "/admin/tenants/{id}/export", "/admin/tenants/no-such-tenant/export", null, ""),
      c("POST", "/admin/tenants/{id}/erase", "/admin/tenants/no-such-tenant/erase",
          "{\"confirm\": \"no-such-tenant\"}", ""),
      c("GET", "/admin/audit", "/admin/audit?limit=1", null, "secops"),
      c("GET", "/admin/audit/public-key", "/admin/audit/public-key", null, "secops viewer"),
      c("GET", "/admin/audit/verify", "/admin/audit/verify", null, "secops"),
      c("GET", "/admin/no-such-route", "/admin/no-such-route", null, ""));

  private static Case c(String method, String template, String path, String body, String roles) {
    return new Case(method, template, path, body,
        roles.isEmpty() ? Set.of() : Set.of(roles.split(" ")));
  }

  @Test
  @Order(1)
  void everyRoleReachesExactlyItsRoutes() {
    // every rule of the policy is walked here, so a new route cannot go untested
    Set<String> ruled = AccessPolicy.RULES.stream().map(r -> r.method() + " " + r.template())
        .collect(Collectors.toCollection(TreeSet::new));
    Set<String> walked = MATRIX.stream().map(m -> m.method() + " " + m.template())
        .collect(Collectors.toCollection(TreeSet::new));
    assertTrue(walked.containsAll(ruled), "routes in the policy but not in this matrix: "
        + ruled.stream().filter(r -> !walked.contains(r)).toList());

    Map<String, String> tokens = new LinkedHashMap<>();
    for (String role : List.of("operator", "billing", "secops", "viewer", "admin")) {
      tokens.put(role, issue("matrix " + role, role));
    }
    List<String> wrong = new ArrayList<>();
    for (Case m : MATRIX) {
      for (var t : tokens.entrySet()) {
        boolean allowed = m.roles().contains(t.getKey())
            || t.getKey().equals("admin") && !m.roles().contains("-admin");
        Http.Reply r = call(m.method(), m.path(), t.getValue(), m.body());
        if (!m.template().equals("/admin/no-such-route")) {
          // every answer, refusals and errors included, is one the OpenAPI document describes
          try {
            OpenApiContract.get().verify(m.method(), m.template(),
                new OpenApiContract.Observed(r.status(), r.headers(), r.body()));
          } catch (AssertionError e) {
            wrong.add(t.getKey() + ": " + e.getMessage());
          }
        }
        if (allowed ? r.status() == 403 || r.status() == 401 : r.status() != 403) {
          wrong.add(t.getKey() + " " + m.method() + " " + m.path() + " -> " + r.status() + " " + r.body());
        }
        if (!allowed && !r.json().get("error").get("message").asText().contains("may not call")) {
          wrong.add("refusal without a reason: " + r.body());
        }
      }
    }
    assertEquals(List.of(), wrong);
    // the configured secops token has the secops role
    assertEquals(403, call("GET", "/admin/tokens", TestCluster.SECOPS_TOKEN, null).status());
    assertEquals("secops", call("GET", "/admin/whoami", TestCluster.SECOPS_TOKEN, null).json().get("role").asText());
  }

  /** Successful and refused admin calls answer as the OpenAPI document says (status, headers, body). */
  @Test
  @Order(1)
  void adminAnswersMatchTheOpenApiDocument() {
    String body = """
        {"id": "contract-co", "name": "Contract Co", "plan": {"requestsPerMinute": 60, "tokensPerMinute": 1000,
         "monthlyBudgetUsd": "10.00", "maxConcurrentRequests": 2}}""";
    var created = OpenApiContract.check("POST", "/admin/tenants",
        call("POST", "/admin/tenants", TestCluster.ADMIN_TOKEN, body));
    assertEquals(201, created.status(), created.body());
    assertEquals(409, OpenApiContract.check("POST", "/admin/tenants",
        call("POST", "/admin/tenants", TestCluster.ADMIN_TOKEN, body)).status());
    assertEquals(400, OpenApiContract.check("POST", "/admin/tenants",
        call("POST", "/admin/tenants", TestCluster.ADMIN_TOKEN, "{\"id\": \"x\"}")).status());
    assertEquals(400, OpenApiContract.check("POST", "/admin/tenants",
        call("POST", "/admin/tenants", TestCluster.ADMIN_TOKEN, "[1, 2")).status());
    assertEquals(403, OpenApiContract.check("POST", "/admin/tenants",
        call("POST", "/admin/tenants", TestCluster.SECOPS_TOKEN, body)).status());
    var key = OpenApiContract.check("POST", "/admin/tenants/contract-co/keys",
        call("POST", "/admin/tenants/contract-co/keys", TestCluster.ADMIN_TOKEN, null));
    assertEquals(201, key.status(), key.body());
    var tenant = OpenApiContract.check("GET", "/admin/tenants/contract-co",
        call("GET", "/admin/tenants/contract-co", TestCluster.ADMIN_TOKEN, null));
    assertEquals(200, tenant.status(), tenant.body());
    assertEquals(key.json().get("keyId"), tenant.json().get("keys").get(0).get("keyId"));
    assertEquals(404, OpenApiContract.check("GET", "/admin/tenants/no-such-tenant",
        call("GET", "/admin/tenants/no-such-tenant", TestCluster.ADMIN_TOKEN, null)).status());
    var suspended = OpenApiContract.check("POST", "/admin/tenants/{id}/suspend",
        call("POST", "/admin/tenants/contract-co/suspend", TestCluster.ADMIN_TOKEN, "{\"reason\": \"contract\"}"));
    assertEquals(200, suspended.status(), suspended.body());
    assertEquals("suspended", suspended.json().get("status").asText());
    var listed = OpenApiContract.check("GET", "/admin/tenants",
        call("GET", "/admin/tenants?limit=100", TestCluster.ADMIN_TOKEN, null));
    assertEquals(200, listed.status(), listed.body());
    assertTrue(listed.body().contains("\"id\":\"contract-co\""), listed.body());
    assertEquals(400, OpenApiContract.check("GET", "/admin/tenants",
        call("GET", "/admin/tenants?limit=101", TestCluster.ADMIN_TOKEN, null)).status());
    var resumed = OpenApiContract.check("POST", "/admin/tenants/{id}/resume",
        call("POST", "/admin/tenants/contract-co/resume", TestCluster.ADMIN_TOKEN, null));
    assertEquals("active", resumed.json().get("status").asText());
    assertEquals(404, OpenApiContract.check("POST", "/admin/tenants/{id}/resume",
        call("POST", "/admin/tenants/no-such-tenant/resume", TestCluster.ADMIN_TOKEN, null)).status());
    assertEquals(200, OpenApiContract.check("GET", "/admin/whoami",
        call("GET", "/admin/whoami", TestCluster.ADMIN_TOKEN, null)).status());
    var page = OpenApiContract.check("GET", "/admin/audit?limit=3",
        call("GET", "/admin/audit?limit=3", TestCluster.SECOPS_TOKEN, null));
    assertEquals(200, page.status(), page.body());
    assertTrue(page.json().get("records").size() >= 2, page.body());
    assertEquals(400, OpenApiContract.check("GET", "/admin/audit?from=x",
        call("GET", "/admin/audit?from=x", TestCluster.SECOPS_TOKEN, null)).status());
  }

  @Test
  @Order(2)
  void tokensAreIssuedRotatedWithOverlapAndRevokedWithoutARestart() {
    String token = issue("deployer", "operator");
    Http.Reply me = call("GET", "/admin/whoami", token, null);
    assertEquals(200, me.status());
    assertEquals("deployer", me.json().get("name").asText());
    String id = me.json().get("tokenId").asText();

    Http.Reply listed = call("GET", "/admin/tokens", TestCluster.ADMIN_TOKEN, null);
    assertEquals(200, listed.status());
    // the secret is what follows aimosadm_<id>_ (it may itself hold '_')
    assertFalse(listed.body().contains(token.substring(("aimosadm_" + id + "_").length())), "no secret in listings");
    assertTrue(listed.body().contains("\"name\":\"deployer\""), listed.body());

    Http.Reply rotated = call("POST", "/admin/tokens/" + id + "/rotate", TestCluster.ADMIN_TOKEN, null);
    assertEquals(200, rotated.status(), rotated.body());
    String next = rotated.json().get("token").asText();
    assertNotEquals(token, next);
    assertEquals(200, call("GET", "/admin/whoami", next, null).status());
    assertEquals(200, call("GET", "/admin/whoami", token, null).status(), "the old one during the overlap");

    assertEquals(200, call("DELETE", "/admin/tokens/" + id, TestCluster.ADMIN_TOKEN, null).status());
    assertEquals(401, call("GET", "/admin/whoami", next, null).status());
    assertEquals(401, call("GET", "/admin/whoami", token, null).status());
    Http.Reply again = call("POST", "/admin/tokens/" + id + "/rotate", TestCluster.ADMIN_TOKEN, null);
    assertEquals(400, again.status(), "a revoked token cannot be rotated back to life: " + again.body());

    // bad input: precise errors, nothing issued
    assertEquals(400, call("POST", "/admin/tokens", TestCluster.ADMIN_TOKEN,
        "{\"name\": \"x\", \"role\": \"root\"}").status());
    assertEquals(400, call("POST", "/admin/tokens", TestCluster.ADMIN_TOKEN,
        "{\"name\": \"x\", \"role\": \"tenant-admin\"}").status());
    assertEquals(400, call("POST", "/admin/tokens", TestCluster.ADMIN_TOKEN,
        "{\"name\": \"\\n\", \"role\": \"viewer\"}").status());
    assertEquals(409, call("POST", "/admin/tokens", TestCluster.ADMIN_TOKEN,
        "{\"name\": \"matrix viewer\", \"role\": \"viewer\"}").status(), "names are unique among live tokens");
    assertEquals(400, call("DELETE", "/admin/tokens/not-an-id", TestCluster.ADMIN_TOKEN, null).status());
    assertEquals(404, call("DELETE", "/admin/tokens/00000000000000ff", TestCluster.ADMIN_TOKEN, null).status());
  }

  private static Http.Reply withRequestId(String method, String path, String requestId, String body) {
    try {
      var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path))
          .method(method, java.net.http.HttpRequest.BodyPublishers.ofString(body))
          .header("Authorization", "Bearer " + TestCluster.ADMIN_TOKEN).header("Content-Type", "application/json")
          .header("X-Request-Id", requestId).build();
      var r = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build()
          .send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(requestId, r.headers().firstValue("X-Request-Id").orElse(""), "the request id comes back");
      return new Http.Reply(r.statusCode(), r.body());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Every record, read page by page as {@code aimos audit verify} reads them, checked with the public key. */
  private static aimos.access.audit.AuditVerifier verifyPages(List<com.fasterxml.jackson.databind.JsonNode> into) {
    var v = new aimos.access.audit.AuditVerifier(java.util.Optional.of(TestCluster.AUDIT_KEYS.getPublic()));
    long from = 1;
    while (true) {
      Http.Reply page = call("GET", "/admin/audit?from=" + from + "&limit=7", TestCluster.SECOPS_TOKEN, null);
      assertEquals(200, page.status(), page.body());
      for (var r : page.json().get("records")) {
        into.add(r);
        v.accept(new aimos.access.audit.AuditRecord(r.get("seq").asLong(), r.get("atMillis").asLong(),
            r.get("actor").asText(), r.get("role").asText(), r.get("action").asText(), r.get("target").asText(),
            r.get("requestId").asText(), r.get("summary").asText(), r.get("prevHash").asText(),
            r.get("hash").asText(), r.get("signature").asText()));
      }
      if (page.json().get("next").isNull()) {
        return v;
      }
      from = page.json().get("next").asLong();
    }
  }

  private static com.fasterxml.jackson.databind.JsonNode serverVerify() {
    Http.Reply r = call("GET", "/admin/audit/verify", TestCluster.SECOPS_TOKEN, null);
    assertEquals(200, r.status(), r.body());
    return r.json();
  }

  // ---- the audit walk: every mutating route, called so that it succeeds, leaves exactly one record ----

  /** Who calls in the audit walk: the token (or tenant-admin key), its actor name and role in the log. */
  private record Caller(String authorization, String actor, String role, int port) {}

  private static final List<String> walkedAdmin = new ArrayList<>();
  private static final List<String> walkedGateway = new ArrayList<>();
  private static final List<String> walkProblems = new ArrayList<>();
  private static int walkRequests;

  private static Http.Reply send(Caller who, String method, String path, String requestId, String body) {
    try {
      var request = java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + who.port() + path))
          .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
              : java.net.http.HttpRequest.BodyPublishers.ofString(body))
          .header("Authorization", "Bearer " + who.authorization()).header("Content-Type", "application/json")
          .header("X-Request-Id", requestId).build();
      var r = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build()
          .send(request, java.net.http.HttpResponse.BodyHandlers.ofString());
      return new Http.Reply(r.statusCode(), r.body(), r.headers().map());
    } catch (Exception e) {
      throw new AssertionError(method + " " + path + ": " + e, e);
    }
  }

  private static long auditHead() {
    Http.Reply r = call("GET", "/admin/audit?limit=1", TestCluster.SECOPS_TOKEN, null);
    assertEquals(200, r.status(), r.body());
    return r.json().get("head").get("seq").asLong();
  }

  /** Every record after {@code head}, page by page. */
  private static List<com.fasterxml.jackson.databind.JsonNode> recordsAfter(long head) {
    List<com.fasterxml.jackson.databind.JsonNode> out = new ArrayList<>();
    long from = head + 1;
    while (true) {
      Http.Reply page = call("GET", "/admin/audit?from=" + from + "&limit=1000", TestCluster.SECOPS_TOKEN, null);
      assertEquals(200, page.status(), page.body());
      page.json().get("records").forEach(out::add);
      if (page.json().get("next").isNull()) {
        return out;
      }
      from = page.json().get("next").asLong();
    }
  }

  private static boolean isEmpty(com.fasterxml.jackson.databind.JsonNode n) {
    return n == null || n.isNull() || (n.isContainerNode() && n.isEmpty()) || (n.isTextual() && n.asText().isBlank());
  }

  /**
   * Calls {@code method path} as {@code who} with a fresh request id and checks that it answered {@code status} and
   * left exactly one audit record: the caller's actor and role, the route's template as action, the path as target,
   * the request id sent, the status and a result, and the state before where {@code before} says one existed.
   * Returns the answer.
   */
  private static Http.Reply walk(Caller who, String method, String template, String path, String body, int status,
                                 boolean before) {
    return walk(who, method, template, path, body, status, before ? "" : null);
  }

  /**
   * As above, where {@code beforeField} (when not null) names a field the state before must have, to tell the thing
   * changed from its tenant ("" for any state).
   */
  private static Http.Reply walk(Caller who, String method, String template, String path, String body, int status,
                                 String beforeField) {
    long head = auditHead();
    String requestId = "walk-" + (++walkRequests);
    Http.Reply reply = send(who, method, path, requestId, body);
    assertEquals(status, reply.status(), method + " " + path + " -> " + reply.body());
    String echoed = reply.headers().entrySet().stream().filter(h -> h.getKey().equalsIgnoreCase("X-Request-Id"))
        .flatMap(h -> h.getValue().stream()).findFirst().orElse("");
    assertEquals(requestId, echoed, "the request id comes back from " + method + " " + path);
    String target = path.split("\\?")[0];
    String action = method + " " + template;
    (who.port() == port ? walkedAdmin : walkedGateway).add(action);
    try {
      checkRecord(who, action, target, requestId, recordsAfter(head), status, beforeField);
    } catch (AssertionError e) {
      // the walk goes on, so that one run names every route whose record is wrong
      walkProblems.add(e.getMessage());
    }
    return reply;
  }

  private static void checkRecord(Caller who, String action, String target, String requestId,
                                  List<com.fasterxml.jackson.databind.JsonNode> after, int status,
                                  String beforeField) {
    var mine = after.stream().filter(r -> r.get("requestId").asText().equals(requestId)).toList();
    assertEquals(1, mine.size(), action + " left " + mine.size() + " records: " + mine);
    assertEquals(1, after.stream().filter(r -> r.get("action").asText().equals(action)
        && r.get("target").asText().equals(target)).count(), "one record of " + action + " " + target + ": " + after);
    var record = mine.get(0);
    assertEquals(who.actor(), record.get("actor").asText(), action);
    assertEquals(who.role(), record.get("role").asText(), action);
    assertEquals(action, record.get("action").asText());
    assertEquals(target, record.get("target").asText(), action);
    com.fasterxml.jackson.databind.JsonNode summary;
    try {
      summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(record.get("summary").asText());
    } catch (Exception e) {
      throw new AssertionError(action + ": the summary is not JSON: " + record, e);
    }
    assertEquals(status, summary.get("status").asInt(), action + ": " + summary);
    assertFalse(isEmpty(summary.get("result")), action + " has no result in its record: " + summary);
    if (beforeField != null) {
      assertFalse(isEmpty(summary.get("before")), action + " changed something that existed but its record has "
          + "no state before: " + summary);
      assertTrue(beforeField.isEmpty() || summary.get("before").has(beforeField),
          action + ": the state before is not the thing changed (no '" + beforeField + "'): " + summary);
    }
  }

  /** A call its caller's role may not make: 403 before any route is reached, and no audit record at all. */
  private static void refusedForRole(Caller who, String method, String path, String body) {
    long head = auditHead();
    String requestId = "walk-refused-" + (++walkRequests);
    Http.Reply reply = send(who, method, path, requestId, body);
    assertEquals(403, reply.status(), method + " " + path + " -> " + reply.body());
    assertTrue(reply.json().get("error").get("message").asText().contains("may not call"), reply.body());
    assertEquals(List.of(), recordsAfter(head).stream()
        .filter(r -> r.get("requestId").asText().equals(requestId)).toList(), "a refusal for the role is not logged");
  }

  /** The OpenAPI template with its parameters' names left out, to compare routes named differently. */
  private static String shape(String route) {
    return route.replaceAll("\\{[^}]*}", "{}");
  }

  @Test
  @Order(3)
  void everyMutatingRouteCalledSuccessfullyLeavesExactlyOneRecordOfWhoDidWhatToWhat() {
    // the callers: issued tokens for operator and billing, the configured ones for admin and secops
    Map<String, Caller> as = new LinkedHashMap<>();
    for (String role : List.of("operator", "billing", "viewer")) {
      String token = issue("walk " + role, role);
      as.put(role, new Caller(token, call("GET", "/admin/whoami", token, null).json().get("name").asText(), role,
          port));
    }
    as.put("admin", new Caller(TestCluster.ADMIN_TOKEN,
        call("GET", "/admin/whoami", TestCluster.ADMIN_TOKEN, null).json().get("name").asText(), "admin", port));
    as.put("secops", new Caller(TestCluster.SECOPS_TOKEN,
        call("GET", "/admin/whoami", TestCluster.SECOPS_TOKEN, null).json().get("name").asText(), "secops", port));
    Caller operator = as.get("operator");
    Caller billing = as.get("billing");
    Caller admin = as.get("admin");
    Caller secops = as.get("secops");
    String month = java.time.YearMonth.now(java.time.ZoneOffset.UTC).toString();
    String plan = """
        {"requestsPerMinute": 600, "tokensPerMinute": 1000000, "monthlyBudgetUsd": "%s", "maxConcurrentRequests": 4}""";

    // tenants and their keys
    walk(billing, "POST", "/admin/tenants", "/admin/tenants", """
        {"id": "walk-co", "name": "Walk Co", "plan": %s}""".formatted(plan.formatted("100.00")), 201, false);
    walk(billing, "PUT", "/admin/tenants/{id}/plan", "/admin/tenants/walk-co/plan", plan.formatted("200.00"), 200,
        true);
    walk(operator, "POST", "/admin/tenants/{id}/suspend", "/admin/tenants/walk-co/suspend",
        "{\"reason\": \"audit walk\"}", 200, true);
    walk(billing, "POST", "/admin/tenants/{id}/resume", "/admin/tenants/walk-co/resume", null, 200, true);
    Http.Reply inferenceKey = walk(operator, "POST", "/admin/tenants/{id}/keys", "/admin/tenants/walk-co/keys", null,
        201, true);
    String apiKey = inferenceKey.json().get("apiKey").asText();
    String inferenceKeyId = inferenceKey.json().get("keyId").asText();
    Http.Reply tenantAdminKey = walk(operator, "POST", "/admin/tenants/{id}/keys", "/admin/tenants/walk-co/keys",
        "{\"scope\": \"tenant-admin\"}", 201, true);
    Caller tenantAdmin = new Caller(tenantAdminKey.json().get("apiKey").asText(),
        "tenant:walk-co/" + tenantAdminKey.json().get("keyId").asText(), "tenant-admin",
        cluster.nodes.get(0).gatewayPort());

    // a model with a version, a running sandbox and real usage to invoice
    walk(operator, "POST", "/admin/models", "/admin/models", "{\"name\": \"walk-text\", \"description\": \"walk\"}",
        201, false);
    walk(operator, "POST", "/admin/models/{name}/versions", "/admin/models/walk-text/versions",
        "{\"version\": \"v1\", \"runtime\": \"echo-text\", \"billingUnit\": \"TOKENS\", \"replicas\": 1}", 201, "name");
    cluster.awaitWorkerReady("walk-text", "v1");
    for (int i = 0; i < 3; i++) {
      TestCluster.infer(cluster.client(0), apiKey, "walk-text", "walk-usage-" + i,
          "every change leaves one record in the audit log, request " + i);
    }
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe.create(cluster.nodes.get(0).system())
        .awaitAssert(java.time.Duration.ofSeconds(30), java.time.Duration.ofMillis(250), () -> {
          assertEquals(3, call("GET", "/admin/tenants/walk-co/usage?month=" + month, TestCluster.ADMIN_TOKEN, null)
              .json().get("requests").asInt());
          assertEquals(3, cluster.ledgerRows("walk-co", month).size());
          return null;
        });
    walk(secops, "POST", "/admin/sandboxes/{model}/{version}/faults", "/admin/sandboxes/walk-text/v1/faults",
        "{\"fault\": \"SLOW\", \"count\": 1, \"delayMs\": 1}", 202, true);
    walk(operator, "POST", "/admin/reconciliation", "/admin/reconciliation?tenant=walk-co", null, 200, false);

    // invoices and credit notes
    walk(billing, "POST", "/admin/tenants/{id}/invoices/{month}/draft",
        "/admin/tenants/walk-co/invoices/" + month + "/draft", null, 200, true);
    String number = walk(billing, "POST", "/admin/invoices/{number}/finalize",
        "/admin/invoices/DRAFT-walk-co-" + month + "/finalize?early=true", null, 200, "totalMicros")
        .json().get("number").asText();
    walk(billing, "POST", "/admin/invoices/{number}/credit-notes", "/admin/invoices/" + number + "/credit-notes",
        "{\"amountUsd\": \"0.000001\", \"reason\": \"adjustment\", \"note\": \"audit walk\"}", 201,
        "totalMicros");
    walk(billing, "POST", "/admin/invoices/{number}/void", "/admin/invoices/" + number + "/void",
        "{\"reason\": \"audit walk\"}", 200, "totalMicros");
    walk(billing, "POST", "/admin/invoices/close", "/admin/invoices/close", null, 200, false);
    walk(billing, "POST", "/admin/prices", "/admin/prices", """
        {"effectiveFrom": "%s", "tokensPer1kUsd": "0.03", "imageUsd": "0.01", "audioMinuteUsd": "0.10",
         "volumeDiscount": {"thresholdTokens": 1000000, "percent": 10}, "models": {"walk-text": "0.05"}}"""
        .formatted(java.time.Instant.now().plus(java.time.Duration.ofDays(400))
            .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)), 201, "lists");

    // how the tenant is told: budget alerts and a webhook endpoint through its whole life
    walk(billing, "PUT", "/admin/tenants/{id}/budget-alerts", "/admin/tenants/walk-co/budget-alerts",
        "{\"thresholds\": [50, 90]}", 200, "thresholds");
    String hooks = "/admin/tenants/walk-co/webhooks";
    String hook = "{\"url\": \"http://127.0.0.1:9/walk\", \"eventTypes\": [\"budget.threshold_crossed\"], "
        + "\"description\": \"audit walk\"}";
    String endpoint = walk(operator, "POST", "/admin/tenants/{id}/webhooks", hooks, hook, 201, false)
        .json().get("endpoint").get("id").asText();
    walk(billing, "POST", "/admin/tenants/{id}/webhooks/{endpoint}/disable", hooks + "/" + endpoint + "/disable",
        null, 200, "eventTypes");
    walk(operator, "POST", "/admin/tenants/{id}/webhooks/{endpoint}/enable", hooks + "/" + endpoint + "/enable",
        null, 200, "eventTypes");
    walk(billing, "POST", "/admin/tenants/{id}/webhooks/{endpoint}/rotate-secret",
        hooks + "/" + endpoint + "/rotate-secret", null, 200, "eventTypes");
    walk(operator, "DELETE", "/admin/tenants/{id}/webhooks/{endpoint}", hooks + "/" + endpoint, null, 200,
        "eventTypes");

    // the tenant-admin key's own routes on the gateway
    String newKeyId = walk(tenantAdmin, "POST", "/v1/keys", "/v1/keys", null, 201, true).json().get("keyId").asText();
    walk(tenantAdmin, "DELETE", "/v1/keys/{keyId}", "/v1/keys/" + newKeyId, null, 200, true);
    String own = walk(tenantAdmin, "POST", "/v1/webhooks", "/v1/webhooks", hook, 201, false)
        .json().get("endpoint").get("id").asText();
    walk(tenantAdmin, "POST", "/v1/webhooks/{endpoint}/disable", "/v1/webhooks/" + own + "/disable", null, 200,
        "eventTypes");
    walk(tenantAdmin, "POST", "/v1/webhooks/{endpoint}/enable", "/v1/webhooks/" + own + "/enable", null, 200,
        "eventTypes");
    walk(tenantAdmin, "POST", "/v1/webhooks/{endpoint}/rotate-secret", "/v1/webhooks/" + own + "/rotate-secret",
        null, 200, "eventTypes");
    walk(tenantAdmin, "DELETE", "/v1/webhooks/{endpoint}", "/v1/webhooks/" + own, null, 200, "eventTypes");

    // admin tokens
    Http.Reply token = walk(admin, "POST", "/admin/tokens", "/admin/tokens",
        "{\"name\": \"walk throwaway\", \"role\": \"viewer\"}", 201, false);
    String tokenId = token.json().get("id").asText();
    walk(admin, "POST", "/admin/tokens/{id}/rotate", "/admin/tokens/" + tokenId + "/rotate", null, 200, true);
    walk(admin, "DELETE", "/admin/tokens/{id}", "/admin/tokens/" + tokenId, null, 200, true);

    // keys revoked, versions retired, a drill run, a throwaway tenant erased
    walk(operator, "DELETE", "/admin/tenants/{id}/keys/{key}", "/admin/tenants/walk-co/keys/" + inferenceKeyId, null,
        200, true);
    walk(operator, "POST", "/admin/models/{name}/versions/{version}/retire",
        "/admin/models/walk-text/versions/v1/retire", null, 200, "name");
    String poll = walk(secops, "POST", "/admin/chaos/drills/{drill}",
        "/admin/chaos/drills/sandbox-crash-storm?duration=5s&rate=20&seed=5", null, 202, false)
        .json().get("poll").asText();
    // the drill calls the admin API itself: wait for it, so that its records do not mix with the walk's
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe.create(cluster.nodes.get(0).system())
        .awaitAssert(java.time.Duration.ofSeconds(120), java.time.Duration.ofMillis(500), () -> {
          String status = call("GET", poll, TestCluster.SECOPS_TOKEN, null).json().get("status").asText();
          assertTrue(status.equals("done") || status.equals("failed"), status);
          return null;
        });
    walk(billing, "POST", "/admin/tenants", "/admin/tenants", """
        {"id": "walk-gone", "name": "Walk Gone", "plan": %s}""".formatted(plan.formatted("10.00")), 201, false);
    walk(admin, "POST", "/admin/tenants/{id}/erase", "/admin/tenants/walk-gone/erase", "{\"confirm\": \"walk-gone\"}",
        200, true);

    // refused for the caller's role: 403 before any route, and no record
    refusedForRole(as.get("viewer"), "POST", "/admin/tenants", "{}");
    refusedForRole(operator, "PUT", "/admin/tenants/walk-co/plan", plan.formatted("1.00"));
    refusedForRole(billing, "POST", "/admin/tokens", "{\"name\": \"nope\", \"role\": \"viewer\"}");
    refusedForRole(admin, "POST", "/admin/sandboxes/walk-text/v1/faults", "{\"fault\": \"CRASH\"}");
    // refused for its input or for what it meets: one record, with the refusal's status and the state before
    walk(billing, "PUT", "/admin/tenants/{id}/plan", "/admin/tenants/walk-co/plan", "{}", 400, true);
    walk(operator, "POST", "/admin/tenants/{id}/suspend", "/admin/tenants/no-such-tenant/suspend", null, 404, false);
    walk(tenantAdmin, "POST", "/v1/keys", "/v1/keys", "{nope", 400, true);
    walk(tenantAdmin, "POST", "/v1/keys", "/v1/keys", "{\"scope\": \"tenant-admin\"}", 403, true);

    assertEquals(List.of(), walkProblems, "routes whose audit record is missing, doubled or wrong");
    // every mutating rule of the policy was walked, so a new one cannot go without its audit check
    Set<String> mutating = AccessPolicy.RULES.stream().filter(r -> !r.method().equals("GET"))
        .map(r -> r.method() + " " + r.template()).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(mutating, new TreeSet<>(walkedAdmin), "mutating routes of AccessPolicy.RULES and the walk");
    // and every change the OpenAPI document lists for a tenant-admin key
    Set<String> gatewayChanges = new TreeSet<>();
    var paths = OpenApiContract.get().document().get("paths");
    for (var it = paths.fieldNames(); it.hasNext(); ) {
      String p = it.next();
      if (p.startsWith("/v1/keys") || p.startsWith("/v1/webhooks")) {
        for (String m : List.of("post", "put", "patch", "delete")) {
          if (paths.get(p).has(m)) {
            gatewayChanges.add(m.toUpperCase() + " " + shape(p));
          }
        }
      }
    }
    assertEquals(gatewayChanges, walkedGateway.stream().map(AccessIT::shape)
        .collect(Collectors.toCollection(TreeSet::new)), "tenant-admin changes in the OpenAPI document and the walk");
    // and the chain still verifies, on the node and page by page here
    var verified = serverVerify();
    assertTrue(verified.get("ok").asBoolean(), verified.toString());
    assertEquals(java.util.Optional.empty(), verifyPages(new ArrayList<>()).problem());
  }

  @Test
  @Order(4)
  void everyMutationLeavesOneSignedChainedRecordAndTamperingIsFound() throws Exception {
    Http.Reply created = withRequestId("POST", "/admin/tenants", "audit-create-1", """
        {"id": "audited", "name": "Audited", "plan": {"requestsPerMinute": 60, "tokensPerMinute": 1000,
         "monthlyBudgetUsd": "10.00", "maxConcurrentRequests": 2}}""");
    assertEquals(201, created.status(), created.body());
    Http.Reply key = withRequestId("POST", "/admin/tenants/audited/keys", "audit-key-1", "");
    assertEquals(201, key.status(), key.body());
    String apiKey = key.json().get("apiKey").asText();
    Http.Reply plan = withRequestId("PUT", "/admin/tenants/audited/plan", "audit-plan-1", """
        {"requestsPerMinute": 120, "tokensPerMinute": 1000, "monthlyBudgetUsd": "20.00", "maxConcurrentRequests": 2}""");
    assertEquals(200, plan.status(), plan.body());
    Http.Reply refused = withRequestId("PUT", "/admin/tenants/audited/plan", "audit-plan-2", "{}");
    assertEquals(400, refused.status());
    // a reused request id with another change is still recorded
    Http.Reply reused = withRequestId("PUT", "/admin/tenants/audited/plan", "audit-plan-1", """
        {"requestsPerMinute": 180, "tokensPerMinute": 1000, "monthlyBudgetUsd": "20.00", "maxConcurrentRequests": 2}""");
    assertEquals(200, reused.status(), reused.body());

    List<com.fasterxml.jackson.databind.JsonNode> records = new ArrayList<>();
    var v = verifyPages(records);
    assertEquals(java.util.Optional.empty(), v.problem());
    assertTrue(records.size() > 7, "several pages: " + records.size());
    String all = records.toString();
    assertFalse(all.contains(aimos.tenant.ApiKeys.parse(apiKey).orElseThrow().secret()), "no key in the audit log");
    assertFalse(all.contains(TestCluster.ADMIN_TOKEN), "no token in the audit log");
    var planRecords = records.stream().filter(r -> r.get("requestId").asText().equals("audit-plan-1")).toList();
    assertEquals(2, planRecords.size(), "one record per change, even with a reused request id");
    var first = planRecords.get(0);
    assertEquals("config:admin-token", first.get("actor").asText());
    assertEquals("admin", first.get("role").asText());
    assertEquals("PUT /admin/tenants/{id}/plan", first.get("action").asText());
    assertEquals("/admin/tenants/audited/plan", first.get("target").asText());
    var summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(first.get("summary").asText());
    assertEquals(200, summary.get("status").asInt());
    assertEquals("10.000000", summary.get("before").get("plan").get("monthlyBudgetUsd").asText());
    assertEquals("20.000000", summary.get("result").get("plan").get("monthlyBudgetUsd").asText());
    assertEquals(1, records.stream().filter(r -> r.get("requestId").asText().equals("audit-plan-2")).count(),
        "a refused change is recorded with its status");
    assertEquals(1, records.stream().filter(r -> r.get("requestId").asText().equals("audit-key-1")).count());
    assertTrue(serverVerify().get("ok").asBoolean(), serverVerify().toString());
    java.nio.file.Path tokenFile = java.nio.file.Files.createTempFile("secops", ".token");
    java.nio.file.Files.writeString(tokenFile, TestCluster.SECOPS_TOKEN);
    java.nio.file.Path publicKey = java.nio.file.Files.createTempFile("audit", ".pub");
    java.nio.file.Files.writeString(publicKey, aimos.access.audit.AuditChain.pem("PUBLIC KEY",
        TestCluster.AUDIT_KEYS.getPublic().getEncoded()));
    String[] cli = {"verify", "--management", "http://127.0.0.1:" + port, "--secops-token-file", tokenFile.toString(),
        "--public-key-file", publicKey.toString()};
    assertEquals(0, aimos.chaos.cli.AuditCommand.run(cli), "aimos audit verify on the intact log");

    // tamper through CQL, as someone with database access would
    String table = cluster.billingKeyspace() + ".audit_log";
    try (var cql = com.datastax.oss.driver.api.core.CqlSession.builder()
        .addContactPoint(new java.net.InetSocketAddress("127.0.0.1", aimos.cassandra.SharedCassandra.port()))
        .withLocalDatacenter("datacenter1").build()) {
      var row = cql.execute("SELECT summary FROM " + table + " WHERE bucket = 0 AND seq = 2").one();
      String original = row.getString("summary");
      cql.execute(com.datastax.oss.driver.api.core.cql.SimpleStatement.newInstance(
          "UPDATE " + table + " SET summary = ? WHERE bucket = 0 AND seq = 2", original + " "));
      assertEquals("record 2 was changed: its fields do not give its hash", serverVerify().get("problem").asText());
      List<com.fasterxml.jackson.databind.JsonNode> ignored = new ArrayList<>();
      assertEquals("record 2 was changed: its fields do not give its hash", verifyPages(ignored).problem().orElse(""));
      assertEquals(1, aimos.chaos.cli.AuditCommand.run(cli), "aimos audit verify on the changed log");
      cql.execute(com.datastax.oss.driver.api.core.cql.SimpleStatement.newInstance(
          "UPDATE " + table + " SET summary = ? WHERE bucket = 0 AND seq = 2", original));
      assertTrue(serverVerify().get("ok").asBoolean());

      // removed from the middle
      var third = cql.execute("SELECT * FROM " + table + " WHERE bucket = 0 AND seq = 3").one();
      cql.execute("DELETE FROM " + table + " WHERE bucket = 0 AND seq = 3");
      assertTrue(serverVerify().get("problem").asText().startsWith("record 3 is missing"));
      cql.execute(com.datastax.oss.driver.api.core.cql.SimpleStatement.newInstance("INSERT INTO " + table
          + " (bucket, seq, at_millis, actor, role, action, target, request_id, summary, prev_hash, hash, signature)"
          + " VALUES (0, 3, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", third.getLong("at_millis"), third.getString("actor"),
          third.getString("role"), third.getString("action"), third.getString("target"),
          third.getString("request_id"), third.getString("summary"), third.getString("prev_hash"),
          third.getString("hash"), third.getString("signature")));
      assertTrue(serverVerify().get("ok").asBoolean(), "restored");

      // reordered: records 4 and 5 swap places
      var four = cql.execute("SELECT * FROM " + table + " WHERE bucket = 0 AND seq = 4").one();
      var five = cql.execute("SELECT * FROM " + table + " WHERE bucket = 0 AND seq = 5").one();
      for (var pair : List.of(List.of(four, 5L), List.of(five, 4L))) {
        var r = (com.datastax.oss.driver.api.core.cql.Row) pair.get(0);
        cql.execute(com.datastax.oss.driver.api.core.cql.SimpleStatement.newInstance("UPDATE " + table
            + " SET at_millis = ?, actor = ?, role = ?, action = ?, target = ?, request_id = ?, summary = ?,"
            + " prev_hash = ?, hash = ?, signature = ? WHERE bucket = 0 AND seq = ?", r.getLong("at_millis"),
            r.getString("actor"), r.getString("role"), r.getString("action"), r.getString("target"),
            r.getString("request_id"), r.getString("summary"), r.getString("prev_hash"), r.getString("hash"),
            r.getString("signature"), pair.get(1)));
      }
      assertTrue(serverVerify().get("problem").asText().startsWith("record 4 does not follow record 3"),
          serverVerify().toString());
      for (var pair : List.of(List.of(four, 4L), List.of(five, 5L))) {
        var r = (com.datastax.oss.driver.api.core.cql.Row) pair.get(0);
        cql.execute(com.datastax.oss.driver.api.core.cql.SimpleStatement.newInstance("UPDATE " + table
            + " SET at_millis = ?, actor = ?, role = ?, action = ?, target = ?, request_id = ?, summary = ?,"
            + " prev_hash = ?, hash = ?, signature = ? WHERE bucket = 0 AND seq = ?", r.getLong("at_millis"),
            r.getString("actor"), r.getString("role"), r.getString("action"), r.getString("target"),
            r.getString("request_id"), r.getString("summary"), r.getString("prev_hash"), r.getString("hash"),
            r.getString("signature"), pair.get(1)));
      }
      assertTrue(serverVerify().get("ok").asBoolean(), "restored");

      // cut from the end: the writer knows how far it wrote
      long head = serverVerify().get("head").get("seq").asLong();
      cql.execute("DELETE FROM " + table + " WHERE bucket = 0 AND seq = " + head);
      assertTrue(serverVerify().get("problem").asText().contains("records were removed from its end"),
          serverVerify().toString());
      assertEquals(1, aimos.chaos.cli.AuditCommand.run(cli), "aimos audit verify on the cut log");
    }
  }

  private static Http.Reply gateway(String method, String path, String key, String body) {
    return Http.call(method, cluster.nodes.get(0).gatewayPort(), path, key, body);
  }

  @Test
  @Order(5)
  void aTenantAdminKeyManagesOnlyItsOwnTenantsKeysAndRunsNothing() {
    String inference = Http.tenantWithKey(cluster, "ta-one", 1000, 2);
    String otherInference = Http.tenantWithKey(cluster, "ta-two", 1000, 2);
    String tenantAdmin = Http.tenantAdminKey(cluster, "ta-one");
    String otherAdmin = Http.tenantAdminKey(cluster, "ta-two");

    Http.Reply listed = gateway("GET", "/v1/keys", tenantAdmin, null);
    assertEquals(200, listed.status(), listed.body());
    assertEquals(List.of("inference", "tenant-admin"), listed.json().get("data").findValuesAsText("scope"));
    assertFalse(listed.body().contains(aimos.tenant.ApiKeys.parse(inference).orElseThrow().secret()), "never a secret");

    // it issues inference keys, which run models; it runs nothing itself
    Http.Reply issued = gateway("POST", "/v1/keys", tenantAdmin, null);
    assertEquals(201, issued.status(), issued.body());
    assertEquals("inference", issued.json().get("scope").asText());
    String newKey = issued.json().get("apiKey").asText();
    String newKeyId = issued.json().get("keyId").asText();
    assertEquals(200, gateway("GET", "/v1/models", newKey, null).status());
    assertEquals(401, gateway("GET", "/v1/models", tenantAdmin, null).status(), "a tenant-admin key runs nothing");
    assertEquals(401, gateway("POST", "/v1/completions", tenantAdmin, "{\"model\": \"m\", \"prompt\": \"hi\"}")
        .status());

    // bad input: a precise error and no key made
    String[][] refused = {{"{\"scope\": \"tenant-admin\"}", "403", "inference keys only"},
        {"{\"scope\": \"root\"}", "400", "scope must be one of"}, {"{nope", "400", "not valid JSON"},
        {"[1]", "400", "JSON object"}, {"{\"scope\": 7}", "400", "must be a string"}};
    for (String[] r : refused) {
      Http.Reply reply = gateway("POST", "/v1/keys", tenantAdmin, r[0]);
      assertEquals(Integer.parseInt(r[1]), reply.status(), r[0] + " -> " + reply.body());
      assertTrue(reply.json().get("error").get("message").asText().contains(r[2]), r[0] + " -> " + reply.body());
    }
    assertEquals(3, gateway("GET", "/v1/keys", tenantAdmin, null).json().get("data").size());
    for (String bad : new String[] {"{\"scope\": \"root\"}", "{\"scope\": 1}", "[]", "{oops"}) {
      Http.Reply reply = call("POST", "/admin/tenants/ta-one/keys", TestCluster.ADMIN_TOKEN, bad);
      assertEquals(400, reply.status(), bad + " -> " + reply.body());
    }
    assertEquals(3, gateway("GET", "/v1/keys", tenantAdmin, null).json().get("data").size(), "no key made");

    // another tenant's keys are not found, and stay as they were
    String otherKeyId = gateway("GET", "/v1/keys", otherAdmin, null).json().get("data").get(0).get("keyId").asText();
    assertEquals(404, gateway("DELETE", "/v1/keys/" + otherKeyId, tenantAdmin, null).status());
    assertEquals(200, gateway("GET", "/v1/models", otherInference, null).status());

    // an inference key or none at all manages nothing
    Http.Reply byInference = gateway("POST", "/v1/keys", inference, null);
    assertEquals(403, byInference.status(), byInference.body());
    assertEquals("insufficient_permissions", byInference.json().get("error").get("code").asText());
    assertEquals(403, gateway("DELETE", "/v1/keys/" + newKeyId, inference, null).status());
    assertEquals(401, gateway("GET", "/v1/keys", null, null).status());
    // and a tenant's key is no admin token
    assertEquals(401, call("GET", "/admin/tenants/ta-one", tenantAdmin, null).status());

    Http.Reply revoked = gateway("DELETE", "/v1/keys/" + newKeyId, tenantAdmin, null);
    assertEquals(200, revoked.status(), revoked.body());
    assertEquals(401, gateway("GET", "/v1/models", newKey, null).status(), "a revoked key stops at once");

    // each change left one audit record naming the tenant's key; reads left none
    List<com.fasterxml.jackson.databind.JsonNode> records = new ArrayList<>();
    verifyPages(records);
    String actor = "tenant:ta-one/" + listed.json().get("data").get(1).get("keyId").asText();
    var mine = records.stream().filter(r -> r.get("actor").asText().equals(actor)).toList();
    assertEquals(List.of("POST /v1/keys", "POST /v1/keys", "POST /v1/keys", "POST /v1/keys", "POST /v1/keys",
            "POST /v1/keys", "DELETE /v1/keys/{keyId}", "DELETE /v1/keys/{keyId}"),
        mine.stream().map(r -> r.get("action").asText()).toList());
    assertTrue(mine.stream().allMatch(r -> r.get("role").asText().equals("tenant-admin")));
    assertFalse(records.toString().contains(aimos.tenant.ApiKeys.parse(newKey).orElseThrow().secret()), "no key in the log");
  }

  @Test
  @Order(6)
  void failedLoginsAreThrottledPerAddress() {
    // the burst is 5 failures; the revoked tokens above already used some of it
    int failures = 0;
    Http.Reply blocked = null;
    for (int i = 0; i <= 5 && blocked == null; i++) {
      Http.Reply r = OpenApiContract.check("GET", "/admin/whoami",
          call("GET", "/admin/whoami", "aimosadm_00000000000000ff_guess" + i, null));
      if (r.status() == 429) {
        blocked = r;
      } else {
        assertEquals(401, r.status(), r.body());
        failures++;
      }
    }
    assertTrue(blocked != null && failures >= 1, "stopped after " + failures + " failures, within the burst of 5");
    assertTrue(blocked.json().get("error").get("message").asText().contains("retry after"));
    // blocked before any token is checked: even the right one waits
    assertEquals(429, call("GET", "/admin/whoami", TestCluster.ADMIN_TOKEN, null).status());
  }
}
