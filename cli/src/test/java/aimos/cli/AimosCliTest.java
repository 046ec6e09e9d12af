package aimos.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AimosCliTest {
  private static final String TENANT = """
      {"id":"acme","name":"Acme","plan":{"requestsPerMinute":600,"tokensPerMinute":100000,
      "monthlyBudgetUsd":"100.00","maxConcurrentRequests":8,"maxWorkerLeases":8},
      "keys":[{"keyId":"k1","scope":"inference","issuedAtMillis":1,"revoked":false}],
      "month":"2026-12","monthRequests":3,"monthTokens":42,"monthSpendUsd":"0.01"}""";

  private FakeManagement api;
  private Map<String, String> env;

  @TempDir
  Path dir;

  @BeforeEach
  void start() throws Exception {
    api = new FakeManagement();
    env = Map.of("AIMOS_MANAGEMENT", api.address(), "AIMOS_ADMIN_TOKEN", "env-admin-token",
        "AIMOS_DEV_PLAINTEXT", "1");
  }

  @AfterEach
  void stop() {
    api.close();
  }

  private Run run(String... args) {
    return Run.of(env, args);
  }

  private static void usageError(Run r, String... fragments) {
    assertEquals(2, r.status(), r.toString());
    for (String f : fragments) {
      assertTrue(r.err().contains(f), "stderr lacks '" + f + "': " + r);
    }
    assertTrue(r.err().contains("--help' for more information"), r.toString());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r);
  }

  @Test
  void noCommandIsAUsageError() {
    usageError(run(), "Missing command");
  }

  @Test
  void unknownCommandSuggestsTheNearest() {
    usageError(run("tenats"), "Unmatched argument", "tenants");
    usageError(run("tenants", "crate", "x"), "Did you mean", "tenants create");
  }

  @Test
  void chaosListRendersTheDrillsInEachFormat() throws Exception {
    Run json = run("chaos", "list", "-o", "json");
    assertEquals(0, json.status(), json.toString());
    var drills = Management.JSON.readTree(json.out());
    assertTrue(drills.isArray() && drills.size() > 5, json.out());
    assertTrue(json.out().contains("\"sandbox-escape\""), json.out());
    Run table = run("chaos", "list");
    assertEquals(0, table.status(), table.toString());
    assertTrue(table.out().contains("sandbox-escape") && table.out().contains("node-kill"), table.out());
    usageError(run("chaos", "list", "-o", "xml"), "-o");
  }

  @Test
  void groupWithoutSubcommandShowsItsCommands() {
    Run r = run("keys");
    usageError(r, "Missing required subcommand", "issue", "revoke");
  }

  @Test
  void unknownOptionIsAUsageError() {
    usageError(run("tenants", "get", "acme", "--verbose"), "Unknown option: '--verbose'", "aimos tenants get");
    assertTrue(api.calls.isEmpty(), "nothing is sent on a usage error");
  }

  @Test
  void badValuesAreUsageErrors() {
    usageError(run("tenants", "create", "acme", "--requests-per-minute", "many", "--tokens-per-minute", "1",
        "--monthly-budget-usd", "1", "--max-concurrent-requests", "1"), "--requests-per-minute", "'many'");
    usageError(run("tenants", "create", "acme", "--requests-per-minute", "1", "--tokens-per-minute", "1",
        "--monthly-budget-usd", "1,50", "--max-concurrent-requests", "1"), "not an amount of US dollars");
    usageError(run("tenants", "create", "acme", "--requests-per-minute", "1"), "Missing required argument");
    usageError(run("tenants", "get", "acme", "-o", "xml"), "--output", "xml");
    usageError(run("usage", "acme", "--month", "December"), "--month", "'December' is not a month (write YYYY-MM");
    usageError(run("usage", "acme", "--hourly", "--day", "2026-13-01"), "--day", "is not a day (write YYYY-MM-DD");
    usageError(run("usage", "acme", "--daily", "--hourly"), "mutually exclusive");
    usageError(run("keys", "issue", "acme", "--scope", "root"), "not a key scope");
    usageError(run("tokens", "issue", "--name", "ci", "--role", "god"), "--role");
    usageError(run("faults", "m", "v1", "--fault", "MELT"), "--fault");
    usageError(run("tenants", "set-plan", "acme"), "needs at least one of");
    assertTrue(api.calls.isEmpty(), "nothing is sent on a usage error: " + api.calls);
  }

  @Test
  void toolOptionsAreCheckedBeforeAToolRuns() {
    usageError(run("load", "--concurency", "8"), "Unknown options: '--concurency'", "Possible solutions: --concurrency");
    usageError(run("load", "--api-key", "argv-secret"), "AIMOS_ADMIN_TOKEN");
    usageError(run("cluster", "up", "--node", "3"), "Unknown options: '--node'", "Possible solutions: --nodes");
    usageError(run("chaos", "run"), "Missing required parameter: 'DRILL'");
    usageError(run("chaos", "run", "slow-model", "--admin-token", "argv-secret"), "--token-file");
  }

  @Test
  void badManagementAddressIsAUsageError() {
    usageError(run("tenants", "get", "acme", "--management", "no port here"), "--management", "HOST:PORT");
    usageError(Run.of(Map.of("AIMOS_MANAGEMENT", "nonsense", "AIMOS_ADMIN_TOKEN", "t"), "sandboxes"),
        "AIMOS_MANAGEMENT");
  }

  @Test
  void tokensAreNeverTakenFromArguments() {
    for (String[] args : new String[][] {{"tenants", "get", "acme", "--token", "argv-secret"},
        {"tenants", "get", "acme", "--token=argv-secret"}, {"sandboxes", "--admin-token", "argv-secret"}}) {
      Run r = run(args);
      usageError(r, "AIMOS_ADMIN_TOKEN", "--token-file");
      assertFalse(r.err().contains("argv-secret") || r.out().contains("argv-secret"), r.toString());
    }
    assertTrue(api.calls.isEmpty());
  }

  @Test
  void tokenComesFromTheEnvironmentOrAFile() throws Exception {
    api.answer("GET /admin/tenants/acme", 200, TENANT);
    assertEquals(0, run("tenants", "get", "acme").status());
    assertEquals("Bearer env-admin-token", api.last().authorization());

    Path file = dir.resolve("token");
    Files.writeString(file, "file-token\nignored second line\n");
    Run r = run("tenants", "get", "acme", "--token-file", file.toString());
    assertEquals(0, r.status(), r.toString());
    assertEquals("Bearer file-token", api.last().authorization());

    Files.writeString(file, "\n");
    r = run("tenants", "get", "acme", "--token-file", file.toString());
    assertEquals(1, r.status(), r.toString());
    assertTrue(r.err().contains("is empty"), r.toString());

    r = run("tenants", "get", "acme", "--token-file", dir.resolve("missing").toString());
    assertEquals(1, r.status(), r.toString());
    assertTrue(r.err().contains("cannot be read"), r.toString());
  }

  @Test
  void withoutATokenSaysWhereToPutOne() {
    Run r = Run.of(Map.of("AIMOS_MANAGEMENT", api.address()), "sandboxes");
    assertEquals(1, r.status(), r.toString());
    assertTrue(r.err().startsWith("error: no admin token: set AIMOS_ADMIN_TOKEN"), r.toString());
    assertEquals(1, r.err().lines().count(), r.toString());
  }

  @Test
  void secopsCommandsTakeTheSecopsTokenFirst() {
    api.answer("GET /admin/chaos/runs/r1", 200, "{\"id\":\"r1\",\"status\":\"running\"}");
    Map<String, String> both = Map.of("AIMOS_MANAGEMENT", api.address(), "AIMOS_ADMIN_TOKEN", "a",
        "AIMOS_SECOPS_TOKEN", "s");
    assertEquals(0, Run.of(both, "drills", "status", "r1").status());
    assertEquals("Bearer s", api.last().authorization());
    assertEquals(0, Run.of(env, "drills", "status", "r1").status());
    assertEquals("Bearer env-admin-token", api.last().authorization());
  }

  @Test
  void refusalsAreOneLineFailures() {
    api.answer("GET /admin/tenants/acme", 401, "{\"error\":{\"code\":401,\"message\":\"unknown token\"}}");
    Run r = run("tenants", "get", "acme");
    assertEquals(1, r.status(), r.toString());
    assertEquals(1, r.err().lines().count(), r.toString());
    assertTrue(r.err().contains("refused the token") && r.err().contains("unknown token"), r.toString());

    Run missing = run("tenants", "get", "nobody");
    assertEquals(1, missing.status(), missing.toString());
    assertTrue(missing.err().contains("not found (404)"), missing.toString());

    api.answer("POST /admin/tenants", 409, "{\"error\":{\"code\":409,\"message\":\"tenant acme already exists\"}}");
    Run conflict = run("tenants", "create", "acme", "--requests-per-minute", "1", "--tokens-per-minute", "1",
        "--monthly-budget-usd", "1", "--max-concurrent-requests", "1");
    assertEquals(1, conflict.status(), conflict.toString());
    assertTrue(conflict.err().contains("already exists"), conflict.toString());
  }

  @Test
  void unreachableManagementIsAFailureWithWhatToDo() throws Exception {
    int port;
    try (var s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Run r = run("sandboxes", "--management", "127.0.0.1:" + port);
    assertEquals(1, r.status(), r.toString());
    assertTrue(r.err().contains("cannot reach the management API at 127.0.0.1:" + port), r.toString());
    assertTrue(r.err().contains("AIMOS_MANAGEMENT"), r.toString());
    assertFalse(r.err().contains("\tat "), r.toString());
  }

  @Test
  void createSendsThePlanAndPrintsTheTenant() throws Exception {
    api.answer("POST /admin/tenants", 201, TENANT);
    Run r = run("tenants", "create", "acme", "--name", "Acme", "--requests-per-minute", "600",
        "--tokens-per-minute", "100000", "--monthly-budget-usd", "100.00", "--max-concurrent-requests", "8", "-o",
        "json");
    assertEquals(0, r.status(), r.toString());
    JsonNode sent = Management.JSON.readTree(api.last().body());
    assertEquals("acme", sent.get("id").asText());
    assertEquals(600, sent.at("/plan/requestsPerMinute").asLong());
    assertEquals("100.00", sent.at("/plan/monthlyBudgetUsd").asText());
    assertFalse(sent.get("plan").has("maxWorkerLeases"));
    assertEquals("acme", Management.JSON.readTree(r.out()).get("id").asText());
  }

  @Test
  void setPlanChangesOnlyTheLimitsGiven() throws Exception {
    api.answer("GET /admin/tenants/acme", 200, TENANT).answer("PUT /admin/tenants/acme/plan", 200, TENANT);
    Run r = run("tenants", "set-plan", "acme", "--requests-per-minute", "1200");
    assertEquals(0, r.status(), r.toString());
    FakeManagement.Call put = api.last();
    assertEquals("PUT", put.method());
    JsonNode plan = Management.JSON.readTree(put.body());
    assertEquals(1200, plan.get("requestsPerMinute").asLong());
    assertEquals(100000, plan.get("tokensPerMinute").asLong());
    assertEquals("100.00", plan.get("monthlyBudgetUsd").asText());
  }

  @Test
  void queriesCarryTheOptions() {
    api.answer("POST /admin/reconciliation?tenant=acme&repair=false", 200, "{\"tenants\":1,\"missing\":0}");
    assertEquals(0, run("reconcile", "--tenant", "acme", "--dry-run").status());
    api.answer("POST /admin/reconciliation?repair=true", 200, "{\"tenants\":1,\"missing\":0}");
    assertEquals(0, run("reconcile").status());
    api.answer("GET /admin/tenants/acme/usage/hourly?day=2026-12-01", 200, "{\"rows\":[]}");
    Run r = run("usage", "acme", "--hourly", "--day", "2026-12-01");
    assertEquals(0, r.status(), r.toString());
    api.answer("GET /admin/tenants/acme/ledger?month=2026-11&limit=5", 200, "{\"rows\":[],\"nextCursor\":null}");
    assertEquals(0, run("ledger", "acme", "--month", "2026-11", "--limit", "5").status());
    api.answer("GET /admin/tenants/acme/ledger/export?format=csv", 200, "a,b\n1,2\n");
    Run csv = run("ledger", "acme", "--export", "csv");
    assertEquals("a,b\n1,2\n", csv.out(), csv.toString());
    api.answer("POST /admin/chaos/drills/slow-model?duration=10s&rate=5", 202,
        "{\"id\":\"r1\",\"status\":\"queued\"}");
    assertEquals(0, Run.of(env, "drills", "start", "slow-model", "--duration", "10s", "--rate", "5").status());
  }

  @Test
  void keysListShowsTheTenantsKeys() {
    api.answer("GET /admin/tenants/acme", 200, TENANT);
    Run r = run("keys", "list", "acme");
    assertEquals(0, r.status(), r.toString());
    assertTrue(r.out().startsWith("KEYID  SCOPE      ISSUEDATMILLIS  REVOKED\n"), r.out());
    assertTrue(r.out().contains("k1     inference  1               false"), r.out());
  }

  @Test
  void drillsWatchFollowsARunToItsEnd() {
    api.answer("GET /admin/chaos/runs/r9", 200, "{\"id\":\"r9\",\"status\":\"failed\",\"error\":\"boom\"}");
    Run r = run("drills", "watch", "r9", "--interval", "0.1");
    assertEquals(1, r.status(), r.toString());
    assertTrue(r.err().contains("r9: failed"), r.toString());
    api.answer("GET /admin/chaos/runs/r9", 200, "{\"id\":\"r9\",\"status\":\"done\",\"report\":{\"verdict\":\"PASS\"}}");
    assertEquals(0, run("drills", "watch", "r9").status());
    api.answer("GET /admin/chaos/runs/r9", 200, "{\"id\":\"r9\",\"status\":\"done\",\"report\":{\"verdict\":\"FAIL\"}}");
    assertEquals(1, run("drills", "watch", "r9").status());
    api.answer("POST /admin/chaos/drills/slow-model", 202, "{\"id\":\"r9\",\"status\":\"queued\"}");
    Run started = Run.of(Map.of("AIMOS_MANAGEMENT", api.address(), "AIMOS_SECOPS_TOKEN", "s"), "drills", "start",
        "slow-model", "--watch", "-o", "json");
    assertEquals(1, started.status(), started.toString());
    assertTrue(started.out().contains("\"FAIL\""), started.toString());
  }

  @Test
  void versionAndCompletion() {
    Run v = run("version", "-o", "json");
    assertEquals(0, v.status(), v.toString());
    assertTrue(v.out().contains("\"version\""), v.out());
    Run c = run("completion");
    assertEquals(0, c.status(), c.toString());
    assertTrue(c.out().contains("complete -F") && c.out().contains("tenants"), "a bash completion script");
    assertEquals(0, run("--help").status());
    assertEquals(0, run("tenants", "create", "--help").status());
  }

  @Test
  void nodeProcessesPointToBinAimos() {
    Run r = run("dev");
    assertEquals(1, r.status(), r.toString());
    assertTrue(r.err().contains("bin/aimos dev"), r.toString());
    Run help = run("dev", "--help");
    assertEquals(0, help.status(), help.toString());
    assertTrue(help.out().contains("--plaintext"), help.toString());
  }

  @Test
  void tenantsListSuspendAndResumeCallTheirRoutes() throws Exception {
    api.answer("GET /admin/tenants?cursor=50&limit=2", 200, """
        {"tenants":[{"id":"acme","name":"Acme","plan":{"requestsPerMinute":600},"status":"suspended",
        "suspendReason":"unpaid"}],"nextCursor":null,"total":51}""");
    Run list = run("tenants", "list", "--cursor", "50", "--limit", "2");
    assertEquals(0, list.status(), list.toString());
    assertTrue(list.out().contains("acme") && list.out().contains("suspended"), list.out());
    usageError(run("tenants", "list", "--limit", "0"), "--limit", "1 to 100");
    usageError(run("tenants", "list", "--limit", "x"), "--limit");

    api.answer("POST /admin/tenants/acme/suspend", 200, TENANT);
    assertEquals(0, run("tenants", "suspend", "acme", "--reason", "unpaid invoice", "-o", "json").status());
    assertEquals("unpaid invoice", Management.JSON.readTree(api.last().body()).get("reason").asText());
    assertEquals(0, run("tenants", "suspend", "acme").status());
    assertFalse(Management.JSON.readTree(api.last().body()).has("reason"));
    api.answer("POST /admin/tenants/acme/resume", 200, TENANT);
    assertEquals(0, run("tenants", "resume", "acme").status());
    assertEquals("POST", api.last().method());
    usageError(run("tenants", "suspend"), "TENANT");
  }

  @Test
  void modelsAddVersionTakesItsOwnVersionOption() throws Exception {
    api.answer("POST /admin/models/demo-text/versions", 201, """
        {"name":"demo-text","description":"","versions":[],"defaultVersion":"v2","liveWorkers":0}""");
    Run r = run("models", "add-version", "demo-text", "--version", "v2", "--runtime", "echo-text", "--billing-unit",
        "TOKENS");
    assertEquals(0, r.status(), r.toString());
    JsonNode sent = Management.JSON.readTree(api.last().body());
    assertEquals("v2", sent.get("version").asText());
    assertEquals("echo-text", sent.get("runtime").asText());
    assertTrue(run("models", "add-version", "--help").out().contains("--version=VERSION"));
    usageError(run("models", "add-version", "demo-text", "--runtime", "echo-text", "--billing-unit", "TOKENS"),
        "--version");
  }

  @Test
  void modelsRetireCallsItsRoute() {
    api.answer("POST /admin/models/demo-text/versions/v1/retire", 200, """
        {"name":"demo-text","description":"","versions":[],"defaultVersion":"v2","liveWorkers":1,
        "retiredVersions":["v1"]}""");
    Run r = run("models", "retire", "demo-text", "v1", "-o", "json");
    assertEquals(0, r.status(), r.toString());
    assertTrue(r.out().contains("\"retiredVersions\""), r.out());
    usageError(run("models", "retire", "demo-text"), "VERSION");
  }

  @Test
  void tenantsBudgetAlertsSlaExportAndEraseCallTheirRoutes() throws Exception {
    String alerts = "{\"tenantId\":\"acme\",\"thresholds\":[50,80,100],\"defaults\":false,\"month\":\"2026-12\","
        + "\"crossed\":[],\"monthlyBudgetUsd\":\"100.000000\",\"monthSpendUsd\":\"0.000000\"}";
    api.answer("GET /admin/tenants/acme/budget-alerts", 200, alerts);
    Run get = run("tenants", "budget-alerts", "acme");
    assertEquals(0, get.status(), get.toString());
    assertEquals("GET", api.last().method());
    assertTrue(get.out().contains("monthlyBudgetUsd"), get.out());

    api.answer("PUT /admin/tenants/acme/budget-alerts", 200, alerts);
    Run set = run("tenants", "set-budget-alerts", "acme", "--thresholds", "50,80,100", "-o", "json");
    assertEquals(0, set.status(), set.toString());
    assertEquals("PUT", api.last().method());
    assertEquals("/admin/tenants/acme/budget-alerts", api.last().uri());
    assertEquals("{\"thresholds\":[50,80,100]}", api.last().body());
    int calls = api.calls.size();
    usageError(run("tenants", "set-budget-alerts", "acme"), "Missing required option", "--thresholds");
    usageError(run("tenants", "set-budget-alerts", "acme", "--thresholds", "50,0"), "--thresholds",
        "whole percentage from 1 to 100");
    usageError(run("tenants", "set-budget-alerts", "acme", "--thresholds", "half"), "--thresholds", "'half'");
    usageError(run("tenants", "set-budget-alerts", "acme", "--thresholds", "1,2,3,4,5,6,7,8,9,10,11"),
        "give 1 to 10");

    api.answer("GET /admin/tenants/acme/sla?month=2026-11", 200, "{\"tenantId\":\"acme\",\"month\":\"2026-11\","
        + "\"eligibleRequests\":3,\"overThreshold\":0,\"breached\":false,\"overRequestIds\":[]}");
    Run sla = run("tenants", "sla", "acme", "--month", "2026-11", "-o", "json");
    assertEquals(0, sla.status(), sla.toString());
    assertEquals("GET /admin/tenants/acme/sla?month=2026-11", api.last().method() + " " + api.last().uri());
    assertEquals(3, Management.JSON.readTree(sla.out()).get("eligibleRequests").asInt());
    usageError(run("tenants", "sla", "acme", "--month", "2026-13"), "--month", "is not a month (write YYYY-MM");
    usageError(run("tenants", "sla", "acme"), "Missing required option", "--month");

    api.answer("GET /admin/tenants/acme/export", 200, TENANT);
    Run export = run("tenants", "export", "acme");
    assertEquals(0, export.status(), export.toString());
    assertEquals("acme", Management.JSON.readTree(export.out()).get("id").asText(), "JSON without -o json");
    assertEquals(0, run("tenants", "export", "acme", "-o", "json").status());
    usageError(run("tenants", "export", "acme", "-o", "yaml"), "export is always JSON");

    usageError(run("tenants", "erase", "acme"), "cannot be undone", "--confirm acme");
    usageError(run("tenants", "erase", "acme", "--confirm", "acne"), "--confirm acne is not its id",
        "--confirm acme");
    assertEquals(calls + 3, api.calls.size(), "nothing is sent on a usage error: " + api.calls);
    api.answer("POST /admin/tenants/acme/erase", 200, "{\"tenantId\":\"acme\",\"erasedAt\":\"2026-12-07T12:00:00Z\"}");
    Run erase = run("tenants", "erase", "acme", "--confirm", "acme");
    assertEquals(0, erase.status(), erase.toString());
    assertEquals("POST", api.last().method());
    assertEquals("{\"confirm\":\"acme\"}", api.last().body());
  }

  @Test
  void webhooksCallTheirRoutes() throws Exception {
    String ep = "{\"id\":\"ep_1\",\"url\":\"https://hooks.example/a\",\"eventTypes\":[],\"enabled\":true}";
    api.answer("POST /admin/tenants/acme/webhooks", 201, "{\"endpoint\":" + ep + ",\"secret\":\"whsec_x\"}");
    Run add = run("webhooks", "add", "acme", "--url", "https://hooks.example/a", "--event-types",
        "invoice.finalized,budget.threshold_crossed", "--description", "billing", "-o", "json");
    assertEquals(0, add.status(), add.toString());
    JsonNode sent = Management.JSON.readTree(api.last().body());
    assertEquals("https://hooks.example/a", sent.get("url").asText());
    assertEquals("[\"invoice.finalized\",\"budget.threshold_crossed\"]", sent.get("eventTypes").toString());
    assertEquals("billing", sent.get("description").asText());
    assertTrue(add.out().contains("whsec_x"), "the secret is printed once: " + add);
    run("webhooks", "add", "acme", "--url", "https://hooks.example/a");
    assertEquals("{\"url\":\"https://hooks.example/a\"}", api.last().body(), "optional fields left out");

    api.answer("GET /admin/tenants/acme/webhooks", 200, "[" + ep + "]");
    Run list = run("webhooks", "list", "acme");
    assertEquals(0, list.status(), list.toString());
    assertTrue(list.out().contains("ep_1"), list.out());
    api.answer("GET /admin/tenants/acme/webhooks/ep_1", 200, ep);
    assertEquals(0, run("webhooks", "get", "acme", "ep_1").status());
    for (String action : new String[] {"disable", "enable", "rotate-secret"}) {
      api.answer("POST /admin/tenants/acme/webhooks/ep_1/" + action, 200, ep);
      Run r = run("webhooks", action, "acme", "ep_1");
      assertEquals(0, r.status(), r.toString());
      assertEquals("POST /admin/tenants/acme/webhooks/ep_1/" + action, api.last().method() + " " + api.last().uri());
    }
    api.answer("GET /admin/tenants/acme/webhooks/ep_1/deliveries?limit=20", 200, "[]");
    assertEquals(0, run("webhooks", "deliveries", "acme", "ep_1", "--limit", "20").status());
    api.answer("DELETE /admin/tenants/acme/webhooks/ep_1", 200, ep);
    assertEquals(0, run("webhooks", "delete", "acme", "ep_1").status());
    assertEquals("DELETE", api.last().method());

    int calls = api.calls.size();
    usageError(run("webhooks", "add", "acme"), "Missing required option", "--url");
    usageError(run("webhooks", "add", "acme", "--url", "hooks.example/a"), "--url", "https:// or http:// URL");
    usageError(run("webhooks", "get", "acme"), "ENDPOINT");
    usageError(run("webhooks", "deliveries", "acme", "ep_1", "--limit", "500"), "--limit", "1 to 200");
    usageError(run("webhooks", "enabel", "acme", "ep_1"), "Did you mean", "webhooks enable");
    assertEquals(calls, api.calls.size(), "nothing is sent on a usage error: " + api.calls);
  }

  @Test
  void invoicesCreditNotesAndCloseCallTheirRoutes() throws Exception {
    api.answer("GET /admin/invoices/AIMOS-2026-000001/credit-notes?format=json", 200,
        "[{\"number\":\"CN-2026-000001\",\"amountUsd\":\"1.500000\",\"reason\":\"sla\"}]");
    Run notes = run("invoices", "credit-notes", "AIMOS-2026-000001");
    assertEquals(0, notes.status(), notes.toString());
    assertTrue(notes.out().contains("CN-2026-000001"), notes.out());

    api.answer("POST /admin/invoices/AIMOS-2026-000001/credit-notes", 201, "{\"number\":\"CN-2026-000002\"}");
    Run issued = run("invoices", "credit-note", "AIMOS-2026-000001", "--amount-usd", "1.50", "--reason", "sla",
        "--note", "latency in week 2");
    assertEquals(0, issued.status(), issued.toString());
    assertEquals("POST", api.last().method());
    assertEquals("{\"amountUsd\":\"1.50\",\"reason\":\"sla\",\"note\":\"latency in week 2\"}", api.last().body());

    api.answer("POST /admin/invoices/close", 200, "{\"asOf\":\"2026-12-07T12:00:00Z\",\"closedMonths\":1,\"invoiced\":1,"
        + "\"finalized\":1,\"awaiting\":0,\"attempts\":[],\"voided\":[]}");
    Run close = run("invoices", "close", "-o", "json");
    assertEquals(0, close.status(), close.toString());
    assertEquals("POST /admin/invoices/close", api.last().method() + " " + api.last().uri());
    assertEquals(1, Management.JSON.readTree(close.out()).get("finalized").asInt());

    int calls = api.calls.size();
    usageError(run("invoices", "credit-note", "AIMOS-2026-000001", "--amount-usd", "1.50"), "Missing required option",
        "--reason");
    usageError(run("invoices", "credit-note", "AIMOS-2026-000001", "--amount-usd", "1.50", "--reason", "goodwill"),
        "--reason", "sla, adjustment, dispute");
    usageError(run("invoices", "credit-note", "AIMOS-2026-000001", "--amount-usd", "-1", "--reason", "sla"),
        "not an amount of US dollars");
    usageError(run("invoices", "credit-notes"), "NUMBER");
    assertEquals(calls, api.calls.size(), "nothing is sent on a usage error: " + api.calls);
  }

  @Test
  void pricesListAndAdd() throws Exception {
    String book = """
        {"version":2,"inForce":1,"node":{"version":2,"loaded":true},"lists":[
        {"id":1,"effectiveFrom":"1970-01-01T00:00:00Z","volumeDiscount":{"thresholdTokens":1000000,"percent":10}},
        {"id":2,"effectiveFrom":"2026-12-20T00:00:00Z","volumeDiscount":{"thresholdTokens":2000000,"percent":15}}]}""";
    api.answer("GET /admin/prices", 200, book);
    Run list = run("prices", "list", "-o", "json");
    assertEquals(0, list.status(), list.toString());
    assertEquals(2, Management.JSON.readTree(list.out()).get("lists").size());

    api.answer("POST /admin/prices", 201, "{\"id\":3}");
    Run add = run("prices", "add", "--effective-from", "2026-12-25T00:00:00Z", "--tokens-per-1k-usd", "0.03",
        "--image-usd", "0.01", "--audio-minute-usd", "0.10", "--volume-discount-threshold-tokens", "500000",
        "--volume-discount-percent", "5", "--model", "demo-text=0.05", "--model", "support-bot=0.2");
    assertEquals(0, add.status(), add.toString());
    assertEquals("POST /admin/prices", api.last().method() + " " + api.last().uri());
    JsonNode sent = Management.JSON.readTree(api.last().body());
    assertEquals("2026-12-25T00:00:00Z", sent.get("effectiveFrom").asText());
    assertEquals("0.03", sent.get("tokensPer1kUsd").asText());
    assertEquals("0.01", sent.get("imageUsd").asText());
    assertEquals("0.10", sent.get("audioMinuteUsd").asText());
    assertEquals("{\"thresholdTokens\":500000,\"percent\":5}", sent.get("volumeDiscount").toString());
    assertEquals("{\"demo-text\":\"0.05\",\"support-bot\":\"0.2\"}", sent.get("models").toString());

    Run keep = run("prices", "add", "--effective-from", "2026-12-25T00:00:00Z", "--tokens-per-1k-usd", "0.03",
        "--image-usd", "0.01", "--audio-minute-usd", "0.10");
    assertEquals(0, keep.status(), keep.toString());
    sent = Management.JSON.readTree(api.last().body());
    assertEquals("{\"thresholdTokens\":2000000,\"percent\":15}", sent.get("volumeDiscount").toString(),
        "the latest list's discount is kept");
    assertFalse(sent.has("models"));

    int calls = api.calls.size();
    String[] base = {"prices", "add", "--effective-from", "2026-12-25T00:00:00Z", "--tokens-per-1k-usd", "0.03",
        "--image-usd", "0.01", "--audio-minute-usd", "0.10"};
    usageError(run("prices", "add", "--effective-from", "2026-12-25"), "Missing required option");
    usageError(run(with(base, "--volume-discount-percent", "5")), "go together");
    usageError(run(with(base, "--volume-discount-threshold-tokens", "1", "--volume-discount-percent", "101")),
        "--volume-discount-percent", "0 to 100");
    usageError(run(with(base, "--model", "demo-text")), "--model");
    usageError(run(with(base, "--model", "demo-text=cheap")), "--model", "not an amount of US dollars");
    base[3] = "next monday";
    usageError(run(base), "--effective-from", "is not an instant");
    assertEquals(calls, api.calls.size(), "nothing is sent on a usage error: " + api.calls);
  }

  private static String[] with(String[] base, String... more) {
    String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }
}
