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
    cluster = TestCluster.start(1, "aimos.access.failed-logins { burst = 5, refill-interval = 1h }");
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
      c("GET", "/admin/tenants/{id}/ledger", "/admin/tenants/no-such-tenant/ledger", null, "viewer billing"),
      c("GET", "/admin/tenants/{id}/ledger/export", "/admin/tenants/no-such-tenant/ledger/export", null,
          "viewer billing"),
      c("GET", "/admin/prices", "/admin/prices", null, "viewer operator billing"),
      c("POST", "/admin/prices", "/admin/prices", "{}", "billing"),
      c("POST", "/admin/reconciliation", "/admin/reconciliation?tenant=Bad_Id", null, "operator billing"),
      c("GET", "/admin/models", "/admin/models", null, "viewer operator billing"),
      c("POST", "/admin/models", "/admin/models", "{}", "operator"),
      c("GET", "/admin/models/{name}", "/admin/models/no-such-model", null, "viewer operator billing"),
      c("POST", "/admin/models/{name}/versions", "/admin/models/no-such-model/versions", "{}", "operator"),
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
    assertFalse(listed.body().contains(token.substring(token.lastIndexOf('_') + 1)), "no secret in listings");
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

  @Test
  @Order(3)
  void failedLoginsAreThrottledPerAddress() {
    // the burst is 5 failures; the revoked tokens above already used some of it
    int failures = 0;
    Http.Reply blocked = null;
    for (int i = 0; i <= 5 && blocked == null; i++) {
      Http.Reply r = call("GET", "/admin/whoami", "aimosadm_00000000000000ff_guess" + i, null);
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
