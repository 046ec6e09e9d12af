package aimos.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.access.audit.AuditChain;
import aimos.access.audit.AuditRecord;
import aimos.chaos.cluster.LocalCluster;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Every leaf command of {@code aimos} run once on its happy path against {@link FakeManagement} (exit status 0, the
 * requests it makes, what it sends, what it prints, and JSON with {@code -o json}), and every command group's usage
 * errors (exit status 2, a hint, nothing sent). A command added without a row here fails
 * {@link #everyLeafCommandHasAHappyPath}. {@link AimosCliTest} has the finer cases (options, refusals, tokens).
 */
class EveryCommandTest {
  /**
   * Commands that start processes or run against a real cluster, so they cannot run against FakeManagement; each is
   * checked for its help and a bad option in {@link #processCommandsHaveHelpAndRefuseBadOptions}.
   */
  private static final Set<String> PROCESS_COMMANDS = Set.of(
      "aimos load",                 // drives a gateway for a while
      "aimos bench sandbox",        // starts sandbox processes
      "aimos bench runtimes",       // drives a running node
      "aimos bench freshness",      // drives a running node
      "aimos bench history",        // a node process of its own, started by bin/aimos
      "aimos cluster up",           // starts Cassandra and node processes
      "aimos cluster down",         // stops them
      "aimos chaos run",            // load and faults against a running cluster
      "aimos dev",                  // a node process of its own, started by bin/aimos
      "aimos node");                // a node process of its own, started by bin/aimos

  private static final String TENANT = """
      {"id":"acme","name":"Acme","plan":{"requestsPerMinute":600,"tokensPerMinute":100000,
      "monthlyBudgetUsd":"100.00","maxConcurrentRequests":8,"maxWorkerLeases":8},
      "keys":[{"keyId":"k1","scope":"inference","issuedAtMillis":1,"revoked":false}],
      "status":"active","month":"2026-12","monthRequests":3,"monthTokens":42,"monthSpendUsd":"0.01"}""";
  private static final String MODEL = """
      {"name":"demo-text","description":"echoes text","versions":[{"version":"v1","runtime":"text",
      "billingUnit":"TOKENS","replicas":1}],"defaultVersion":"v1","liveWorkers":1}""";
  private static final String INVOICE = """
      {"number":"AIMOS-2026-000001","tenantId":"acme","month":"2026-11","status":"FINALIZED",
      "totalUsd":"12.500000","lines":[{"model":"demo-text","units":1000,"amountUsd":"12.500000"}]}""";
  private static final String ENDPOINT = """
      {"id":"ep_1","url":"https://hooks.example/a","eventTypes":["invoice.finalized"],"enabled":true}""";
  private static final String RUN = """
      {"id":"r1","drill":"slow-model","status":"done","report":{"verdict":"PASS","requests":500}}""";
  private static final String TOKEN = """
      {"id":"t1","name":"ci","role":"viewer","createdAtMillis":1}""";

  @TempDir
  Path dir;

  private Path clusterDir;
  private Path auditPublicKey;
  private String auditPage;

  @BeforeEach
  void prepare() throws Exception {
    // a local cluster of two nodes whose processes are gone: 'cluster status' reads it without a network
    clusterDir = dir.resolve("cluster");
    Files.createDirectories(clusterDir);
    new LocalCluster(new LocalCluster.Layout(clusterDir, 2, null, "10.213.0", "java", "unused.jar", List.of(),
        "127.0.0.1:9042"), s -> { }).save();

    // an audit log of two records signed with a key of this test's
    KeyPair key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    auditPublicKey = dir.resolve("audit.pub");
    Files.writeString(auditPublicKey, AuditChain.pem("PUBLIC KEY", key.getPublic().getEncoded()));
    AuditRecord first = AuditChain.next(null, 1_000, "config:admin-token", "admin", "POST /admin/tenants",
        "/admin/tenants", "req-1", "{}", Optional.of(key.getPrivate()));
    AuditRecord second = AuditChain.next(first, 2_000, "config:admin-token", "admin",
        "POST /admin/tenants/{id}/suspend", "/admin/tenants/acme/suspend", "req-2", "{}",
        Optional.of(key.getPrivate()));
    var page = Management.JSON.createObjectNode();
    page.set("records", Management.JSON.valueToTree(List.of(first, second)));
    page.putNull("next");
    page.putObject("head").put("seq", 2);
    auditPage = page.toString();
  }

  /** One happy path: the arguments, each call it makes and its answer, what the last call sends, what is shown. */
  private static final class Case {
    final List<String> args;
    final Map<String, String> answers = new LinkedHashMap<>();
    String sent;
    String shown;

    Case(String args) {
      this.args = List.of(args.split(" "));
    }

    /** The next call it makes ({@code METHOD URI}) and the management API's answer (200). */
    Case calls(String call, String answer) {
      answers.put(call, answer);
      return this;
    }

    /** The JSON body of the last call; "" for none. */
    Case sends(String body) {
      sent = body;
      return this;
    }

    /** Text the output must hold, in each format. */
    Case shows(String text) {
      shown = text;
      return this;
    }

    String lastCall() {
      return answers.isEmpty() ? null : new ArrayList<>(answers.keySet()).get(answers.size() - 1);
    }

    @Override
    public String toString() {
      return String.join(" ", args);
    }
  }

  private static Case run(String args) {
    return new Case(args);
  }

  private List<Case> cases() {
    return List.of(
        run("tenants create acme --name Acme --requests-per-minute 600 --tokens-per-minute 100000 "
            + "--monthly-budget-usd 100.00 --max-concurrent-requests 8 --max-worker-leases 4")
            .calls("POST /admin/tenants", TENANT)
            .sends("{\"id\":\"acme\",\"name\":\"Acme\",\"plan\":{\"requestsPerMinute\":600,\"tokensPerMinute\":100000,"
                + "\"monthlyBudgetUsd\":\"100.00\",\"maxConcurrentRequests\":8,\"maxWorkerLeases\":4}}")
            .shows("Acme"),
        run("tenants list")
            .calls("GET /admin/tenants", "{\"tenants\":[" + TENANT + "],\"nextCursor\":null,\"total\":1}")
            .shows("Acme"),
        run("tenants get acme").calls("GET /admin/tenants/acme", TENANT).shows("monthSpendUsd"),
        run("tenants set-plan acme --tokens-per-minute 5000")
            .calls("GET /admin/tenants/acme", TENANT).calls("PUT /admin/tenants/acme/plan", TENANT)
            .sends("{\"requestsPerMinute\":600,\"tokensPerMinute\":5000,\"monthlyBudgetUsd\":\"100.00\","
                + "\"maxConcurrentRequests\":8,\"maxWorkerLeases\":8}")
            .shows("Acme"),
        run("tenants suspend acme --reason unpaid")
            .calls("POST /admin/tenants/acme/suspend", TENANT.replace("\"active\"", "\"suspended\""))
            .sends("{\"reason\":\"unpaid\"}").shows("suspended"),
        run("tenants resume acme").calls("POST /admin/tenants/acme/resume", TENANT).sends("{}").shows("active"),
        run("tenants location acme")
            .calls("GET /admin/tenants/acme/location",
                "{\"tenant\":\"acme\",\"shard\":\"17\",\"node\":\"pekko://aimos@127.0.0.1:25521\"}")
            .shows("pekko://aimos@127.0.0.1:25521"),
        run("tenants budget-alerts acme")
            .calls("GET /admin/tenants/acme/budget-alerts", "{\"tenantId\":\"acme\",\"thresholds\":[50,80,100],"
                + "\"defaults\":true,\"month\":\"2026-12\",\"crossed\":[50],\"monthlyBudgetUsd\":\"100.000000\","
                + "\"monthSpendUsd\":\"51.000000\"}")
            .shows("51.000000"),
        run("tenants set-budget-alerts acme --thresholds 50,100")
            .calls("PUT /admin/tenants/acme/budget-alerts", "{\"tenantId\":\"acme\",\"thresholds\":[50,100],"
                + "\"defaults\":false,\"crossed\":[]}")
            .sends("{\"thresholds\":[50,100]}").shows("50,100"),
        run("tenants sla acme --month 2026-11")
            .calls("GET /admin/tenants/acme/sla?month=2026-11", "{\"tenantId\":\"acme\",\"month\":\"2026-11\","
                + "\"eligibleRequests\":1234,\"overThreshold\":0,\"breached\":false,\"overRequestIds\":[]}")
            .shows("1234"),
        run("tenants export acme").calls("GET /admin/tenants/acme/export", TENANT).shows("monthTokens"),
        run("tenants erase acme --confirm acme")
            .calls("POST /admin/tenants/acme/erase", "{\"tenantId\":\"acme\",\"erasedAt\":\"2026-12-07T12:00:00Z\"}")
            .sends("{\"confirm\":\"acme\"}").shows("2026-12-07T12:00:00Z"),

        run("keys issue acme --scope tenant-admin")
            .calls("POST /admin/tenants/acme/keys", "{\"keyId\":\"k2\",\"scope\":\"tenant-admin\",\"key\":\"aimos_k2\"}")
            .sends("{\"scope\":\"tenant-admin\"}").shows("aimos_k2"),
        run("keys list acme").calls("GET /admin/tenants/acme", TENANT).shows("inference"),
        run("keys revoke acme k1")
            .calls("DELETE /admin/tenants/acme/keys/k1", TENANT.replace("\"revoked\":false", "\"revoked\":true"))
            .shows("true"),

        run("models list").calls("GET /admin/models", "[" + MODEL + "]").shows("demo-text"),
        run("models get demo-text").calls("GET /admin/models/demo-text", MODEL).shows("echoes text"),
        run("models register support-bot --description answers")
            .calls("POST /admin/models", "{\"name\":\"support-bot\",\"description\":\"answers\",\"versions\":[]}")
            .sends("{\"name\":\"support-bot\",\"description\":\"answers\"}").shows("support-bot"),
        run("models add-version demo-text --version v2 --runtime text --billing-unit TOKENS --unit-price-usd 0.02 "
            + "--replicas 2 --device-memory-mb 512 --fallback v1")
            .calls("POST /admin/models/demo-text/versions", MODEL.replace("\"defaultVersion\":\"v1\"",
                "\"defaultVersion\":\"v2\""))
            .sends("{\"version\":\"v2\",\"runtime\":\"text\",\"billingUnit\":\"TOKENS\",\"unitPriceUsd\":\"0.02\","
                + "\"replicas\":2,\"deviceMemoryMb\":512,\"fallback\":\"v1\"}")
            .shows("v2"),
        run("models retire demo-text v1")
            .calls("POST /admin/models/demo-text/versions/v1/retire", MODEL.replace("}]", "}],\"retiredVersions\":"
                + "[\"v1\"]"))
            .sends("{}").shows("retiredVersions"),
        run("models leases demo-text")
            .calls("GET /admin/models/demo-text/leases", "[{\"leaseId\":\"l-7\",\"tenantId\":\"acme\","
                + "\"version\":\"v1\",\"worker\":\"w-3\"}]")
            .shows("l-7"),

        run("usage acme --daily --month 2026-11")
            .calls("GET /admin/tenants/acme/usage/daily?month=2026-11", "{\"tenantId\":\"acme\",\"rows\":["
                + "{\"day\":\"2026-11-02\",\"requests\":7,\"tokens\":4321}]}")
            .shows("4321"),
        run("ledger acme --cursor c-9")
            .calls("GET /admin/tenants/acme/ledger?cursor=c-9", "{\"rows\":[{\"requestId\":\"req-5\","
                + "\"amountUsd\":\"0.000120\"}],\"nextCursor\":\"c-10\"}")
            .shows("req-5"),

        run("invoices list acme")
            .calls("GET /admin/tenants/acme/invoices?format=json", "[" + INVOICE + "]").shows("AIMOS-2026-000001"),
        run("invoices get AIMOS-2026-000001")
            .calls("GET /admin/invoices/AIMOS-2026-000001?format=json", INVOICE).shows("12.500000"),
        run("invoices draft acme 2026-11")
            .calls("POST /admin/tenants/acme/invoices/2026-11/draft", INVOICE.replace("FINALIZED", "DRAFT"))
            .sends("").shows("DRAFT"),
        run("invoices finalize AIMOS-2026-000001 --early")
            .calls("POST /admin/invoices/AIMOS-2026-000001/finalize?early=true", INVOICE)
            .sends("").shows("FINALIZED"),
        run("invoices void AIMOS-2026-000001 --reason duplicate")
            .calls("POST /admin/invoices/AIMOS-2026-000001/void", INVOICE.replace("FINALIZED", "VOID"))
            .sends("{\"reason\":\"duplicate\"}").shows("VOID"),
        run("invoices credit-notes AIMOS-2026-000001")
            .calls("GET /admin/invoices/AIMOS-2026-000001/credit-notes?format=json",
                "[{\"number\":\"CN-2026-000001\",\"amountUsd\":\"1.500000\",\"reason\":\"sla\"}]")
            .shows("CN-2026-000001"),
        run("invoices credit-note AIMOS-2026-000001 --amount-usd 2.25 --reason adjustment")
            .calls("POST /admin/invoices/AIMOS-2026-000001/credit-notes", "{\"number\":\"CN-2026-000002\"}")
            .sends("{\"amountUsd\":\"2.25\",\"reason\":\"adjustment\"}").shows("CN-2026-000002"),
        run("invoices close")
            .calls("POST /admin/invoices/close", "{\"asOf\":\"2026-12-07T12:00:00Z\",\"closedMonths\":1,"
                + "\"invoiced\":3,\"finalized\":3,\"awaiting\":0,\"attempts\":[],\"voided\":[]}")
            .sends("").shows("closedMonths"),

        run("webhooks list acme").calls("GET /admin/tenants/acme/webhooks", "[" + ENDPOINT + "]")
            .shows("hooks.example"),
        run("webhooks add acme --url https://hooks.example/a --event-types invoice.finalized --description billing")
            .calls("POST /admin/tenants/acme/webhooks", "{\"endpoint\":" + ENDPOINT + ",\"secret\":\"whsec_1\"}")
            .sends("{\"url\":\"https://hooks.example/a\",\"eventTypes\":[\"invoice.finalized\"],"
                + "\"description\":\"billing\"}")
            .shows("whsec_1"),
        run("webhooks get acme ep_1").calls("GET /admin/tenants/acme/webhooks/ep_1", ENDPOINT).shows("ep_1"),
        run("webhooks delete acme ep_1").calls("DELETE /admin/tenants/acme/webhooks/ep_1", ENDPOINT).shows("ep_1"),
        run("webhooks disable acme ep_1")
            .calls("POST /admin/tenants/acme/webhooks/ep_1/disable", ENDPOINT.replace("true", "false"))
            .sends("").shows("false"),
        run("webhooks enable acme ep_1")
            .calls("POST /admin/tenants/acme/webhooks/ep_1/enable", ENDPOINT).sends("").shows("true"),
        run("webhooks rotate-secret acme ep_1")
            .calls("POST /admin/tenants/acme/webhooks/ep_1/rotate-secret", "{\"endpoint\":" + ENDPOINT
                + ",\"secret\":\"whsec_2\"}")
            .sends("").shows("whsec_2"),
        run("webhooks deliveries acme ep_1")
            .calls("GET /admin/tenants/acme/webhooks/ep_1/deliveries", "[{\"id\":\"dl_4\",\"eventType\":"
                + "\"invoice.finalized\",\"status\":\"delivered\",\"attempts\":[{\"status\":200}]}]")
            .shows("dl_4"),

        run("prices list")
            .calls("GET /admin/prices", "{\"version\":1,\"inForce\":1,\"lists\":[{\"id\":1,\"effectiveFrom\":"
                + "\"1970-01-01T00:00:00Z\",\"tokensPer1kUsd\":\"0.03\"}]}")
            .shows("1970-01-01T00:00:00Z"),
        run("prices add --effective-from 2026-12-25T00:00:00Z --tokens-per-1k-usd 0.03 --image-usd 0.01 "
            + "--audio-minute-usd 0.10 --volume-discount-threshold-tokens 500000 --volume-discount-percent 5")
            .calls("POST /admin/prices", "{\"id\":2,\"effectiveFrom\":\"2026-12-25T00:00:00Z\"}")
            .sends("{\"effectiveFrom\":\"2026-12-25T00:00:00Z\",\"tokensPer1kUsd\":\"0.03\",\"imageUsd\":\"0.01\","
                + "\"audioMinuteUsd\":\"0.10\",\"volumeDiscount\":{\"thresholdTokens\":500000,\"percent\":5}}")
            .shows("2026-12-25T00:00:00Z"),

        run("sandboxes")
            .calls("GET /admin/sandboxes", "[{\"node\":\"pekko://aimos@127.0.0.1:25521\",\"model\":\"demo-text\","
                + "\"version\":\"v1\",\"state\":\"READY\"}]")
            .shows("READY"),
        run("faults demo-text v1 --fault SLOW --count 3 --delay-ms 200")
            .calls("POST /admin/sandboxes/demo-text/v1/faults", "{\"injected\":2,\"fault\":\"SLOW\"}")
            .sends("{\"fault\":\"SLOW\",\"count\":3,\"delayMs\":200}").shows("injected"),
        run("drills start slow-model --seed 7")
            .calls("POST /admin/chaos/drills/slow-model?seed=7", "{\"id\":\"r1\",\"status\":\"queued\"}")
            .sends("").shows("queued"),
        run("drills status r1").calls("GET /admin/chaos/runs/r1", RUN).shows("PASS"),
        run("drills watch r1 --interval 0.1").calls("GET /admin/chaos/runs/r1", RUN).shows("PASS"),
        run("reconcile --tenant acme")
            .calls("POST /admin/reconciliation?tenant=acme&repair=true", "{\"tenants\":1,\"missing\":2,"
                + "\"repaired\":2}")
            .sends("").shows("repaired"),

        run("tokens list").calls("GET /admin/tokens", "[" + TOKEN + "]").shows("viewer"),
        run("tokens issue --name ci --role viewer")
            .calls("POST /admin/tokens", "{\"token\":" + TOKEN + ",\"secret\":\"aimos_t_1\"}")
            .sends("{\"name\":\"ci\",\"role\":\"viewer\"}").shows("aimos_t_1"),
        run("tokens rotate t1")
            .calls("POST /admin/tokens/t1/rotate", "{\"token\":" + TOKEN + ",\"secret\":\"aimos_t_2\"}")
            .sends("").shows("aimos_t_2"),
        run("tokens revoke t1").calls("DELETE /admin/tokens/t1", TOKEN.replace("}", ",\"revoked\":true}"))
            .shows("revoked"),

        run("audit verify --public-key-file " + auditPublicKey)
            .calls("GET /admin/audit?from=1&limit=1000", auditPage)
            .shows("OK: 2 records, chain and signatures intact"),
        run("whoami").calls("GET /admin/whoami", "{\"name\":\"ci\",\"role\":\"viewer\"}").shows("viewer"),

        // commands that run here, without the management API
        run("version").shows(VersionProvider.version()),
        run("completion").shows("complete -F"),
        run("help tenants").shows("Usage: aimos tenants"),
        run("chaos list").shows("node-kill"),
        run("cluster status").shows("127.0.0.1:8082"));
  }

  private Map<String, String> env(FakeManagement api) {
    return Map.of("AIMOS_MANAGEMENT", api.address(), "AIMOS_ADMIN_TOKEN", "admin-token", "AIMOS_DEV_PLAINTEXT", "1",
        "AIMOS_CLUSTER_DIR", clusterDir.toString());
  }

  @TestFactory
  Stream<DynamicTest> everyCommandRunsItsHappyPath() {
    return cases().stream().map(c -> DynamicTest.dynamicTest(c.toString(), () -> check(c)));
  }

  private void check(Case c) throws IOException {
    try (FakeManagement api = new FakeManagement()) {
      c.answers.forEach((call, answer) -> api.answer(call, 200, answer));
      Run r = Run.of(env(api), c.args.toArray(String[]::new));
      assertEquals(0, r.status(), r.toString());
      assertEquals(List.copyOf(c.answers.keySet()), api.calls.stream().map(k -> k.method() + " " + k.uri()).toList(),
          "the calls made");
      for (int i = 0; i < api.calls.size() - 1; i++) {
        assertEquals("", api.calls.get(i).body(), "a read sends no body");
      }
      if (!api.calls.isEmpty()) {
        String method = c.lastCall().split(" ")[0];
        String body = api.last().body();
        if (method.equals("POST") || method.equals("PUT")) {
          assertNotNull(c.sent, "say what " + c + " sends");
        }
        if (c.sent == null || c.sent.isEmpty()) {
          assertEquals("", body, "no body");
        } else {
          assertEquals(Management.JSON.readTree(c.sent), Management.JSON.readTree(body), "the body sent");
        }
      }
      assertNotNull(c.shown, "say what " + c + " shows");
      assertTrue(r.out().contains(c.shown), "stdout lacks '" + c.shown + "': " + r);
      assertFalse(r.err().contains("error"), r.toString());

      CommandLine.Model.CommandSpec spec = leaf(c.args);
      if (spec.findOption("-o") != null) {
        // export is JSON only, and refuses -o yaml
        for (String format : spec.qualifiedName().equals("aimos tenants export") ? new String[] {"json"}
            : new String[] {"json", "yaml"}) {
          List<String> args = new ArrayList<>(c.args);
          args.addAll(List.of("-o", format));
          Run formatted = Run.of(env(api), args.toArray(String[]::new));
          assertEquals(0, formatted.status(), formatted.toString());
          JsonNode parsed = format.equals("json") ? Management.JSON.readTree(formatted.out())
              : Management.JSON.valueToTree(new org.yaml.snakeyaml.Yaml().load(formatted.out()));
          assertTrue(parsed.isContainerNode(), "-o " + format + " is a document: " + formatted);
          assertTrue(parsed.toString().contains(c.shown), "-o " + format + " lacks '" + c.shown + "': "
              + formatted);
        }
      }
    }
  }

  /** The leaf command that {@code args} runs. */
  private static CommandLine.Model.CommandSpec leaf(List<String> args) {
    CommandLine.ParseResult p = AimosCli.commandLine(Map.of(), new PrintWriter(new StringWriter()),
        new PrintWriter(new StringWriter())).parseArgs(args.toArray(String[]::new));
    while (p.hasSubcommand()) {
      p = p.subcommand();
    }
    return p.commandSpec();
  }

  private static CommandLine root() {
    return AimosCli.commandLine(Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
  }

  /** Every leaf command, by its qualified name ("aimos tenants create"), and its command line. */
  private static Map<String, CommandLine> leaves() {
    Map<String, CommandLine> found = new java.util.TreeMap<>();
    collect(root(), found);
    return found;
  }

  private static void collect(CommandLine c, Map<String, CommandLine> found) {
    if (c.getSubcommands().isEmpty()) {
      found.put(c.getCommandSpec().qualifiedName(), c);
    }
    c.getSubcommands().values().forEach(s -> collect(s, found));
  }

  @Test
  void everyLeafCommandHasAHappyPath() {
    Set<String> tested = new TreeSet<>();
    for (Case c : cases()) {
      assertTrue(tested.add(leaf(c.args).qualifiedName()), "two rows for " + leaf(c.args).qualifiedName());
    }
    Set<String> both = new TreeSet<>(tested);
    both.retainAll(PROCESS_COMMANDS);
    assertEquals(Set.of(), both, "a process command needs no row");
    Set<String> missing = new TreeSet<>(leaves().keySet());
    missing.removeAll(PROCESS_COMMANDS);
    missing.removeAll(tested);
    assertEquals(Set.of(), missing, "every leaf command has a row in cases() (or, if it starts processes, is in "
        + "PROCESS_COMMANDS)");
    Set<String> unknown = new TreeSet<>(tested);
    unknown.removeAll(leaves().keySet());
    assertEquals(Set.of(), unknown, "rows for commands that are not leaves");
    assertTrue(leaves().keySet().containsAll(PROCESS_COMMANDS), "PROCESS_COMMANDS names only commands that exist");
  }

  @Test
  void processCommandsHaveHelpAndRefuseBadOptions() throws Exception {
    try (FakeManagement api = new FakeManagement()) {
      Map<String, CommandLine> leaves = leaves();
      for (String name : PROCESS_COMMANDS) {
        List<String> words = List.of(name.substring("aimos ".length()).split(" "));
        String usage = leaves.get(name).getUsageMessage();
        assertTrue(usage.startsWith("Usage: " + name), usage);
        assertTrue(leaves.get(name).getCommandSpec().usageMessage().description().length > 0, name + " says what it "
            + "does");
        if (leaves.get(name).getCommand() instanceof ToolCommands.Tool) {
          // a tool takes every argument as its own, --help too: its main reads them (and exits the JVM), so only
          // the command line's usage message is checked here
          continue;
        }
        List<String> args = new ArrayList<>(words);
        args.add("--help");
        Run own = Run.of(env(api), args.toArray(String[]::new));
        assertEquals(0, own.status(), own.toString());
        assertTrue(own.out().startsWith("Usage: " + name), own.toString());
        args.remove(args.size() - 1);
        // a value for each required parameter (chaos run's DRILL), so that the option is what is wrong
        leaves.get(name).getCommandSpec().positionalParameters().stream().filter(CommandLine.Model.ArgSpec::required)
            .forEach(p -> args.add("x"));
        args.add("--no-such-option");
        Run bad = Run.of(env(api), args.toArray(String[]::new));
        assertEquals(2, bad.status(), bad.toString());
        assertTrue(bad.err().contains("Unknown option: '--no-such-option'"), bad.toString());
        assertTrue(bad.err().contains("Try '" + name + " --help'"), bad.toString());
      }
      assertEquals(List.of(), api.calls);
    }
  }

  /**
   * One usage error for each command group: the arguments and what stderr must say. Different mistakes from those
   * in AimosCliTest, which has more of each.
   */
  private static final List<List<String>> USAGE_ERRORS = List.of(
      List.of("tenants location", "Missing required parameter: 'TENANT'"),
      List.of("keys revoke acme", "Missing required parameter: 'KEY_ID'"),
      List.of("models register", "Missing required parameter: 'MODEL'"),
      List.of("usage acme --day 2026-12-01", "--day goes with --hourly"),
      List.of("ledger acme --export csv --limit 5", "leave out --cursor and --limit"),
      List.of("invoices draft acme November", "'November' is not a month"),
      List.of("webhooks deliveries acme ep_1 --limit many", "'--limit'", "'many'"),
      List.of("prices list --cursor c1", "Unknown options: '--cursor', 'c1'"),
      List.of("sandboxes acme", "Unmatched argument at index 1: 'acme'"),
      List.of("faults demo-text v1", "Missing required option: '--fault=FAULT'"),
      List.of("drills start slow-model --duration forever", "'forever' (write 30s, 500ms or 2m)"),
      List.of("reconcile acme", "Unmatched argument at index 1: 'acme'"),
      List.of("tokens issue --role viewer", "Missing required option: '--name=NAME'"),
      List.of("audit verify --public-key-file", "Missing required parameter for option '--public-key-file'"),
      List.of("whoami -o csv", "--output", "'csv'"),
      List.of("load --duration", "Missing required parameter for option '--duration'"),
      List.of("bench fresh", "Did you mean", "bench freshness"),
      List.of("cluster status -o xml", "--output", "'xml'"),
      List.of("chaos list extra", "Unmatched argument at index 2: 'extra'"),
      List.of("dev extra", "Unmatched argument at index 1: 'extra'"),
      List.of("node extra", "Unmatched argument at index 1: 'extra'"),
      List.of("version -o csv", "--output", "'csv'"),
      List.of("completion zsh", "Unmatched argument at index 1: 'zsh'"),
      List.of("help tenant", "Unknown subcommand 'tenant'"));

  @Test
  void everyCommandGroupHasAUsageErrorThatSendsNothing() throws Exception {
    Set<String> groups = new TreeSet<>();
    try (FakeManagement api = new FakeManagement()) {
      for (List<String> row : USAGE_ERRORS) {
        String[] args = row.get(0).split(" ");
        groups.add(args[0]);
        Run r = Run.of(env(api), args);
        assertEquals(2, r.status(), row.get(0) + ": " + r);
        for (String hint : row.subList(1, row.size())) {
          assertTrue(r.err().contains(hint), row.get(0) + ": stderr lacks '" + hint + "': " + r);
        }
        assertTrue(r.err().contains("--help' for more information") || row.get(0).startsWith("help "), r.toString());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r);
      }
      assertEquals(List.of(), api.calls, "nothing is sent on a usage error");
    }
    assertEquals(new TreeSet<>(root().getSubcommands().keySet()), groups, "a usage error for every command group");
  }

  @Test
  void clusterStatusRendersTheClusterInEachFormat() throws Exception {
    try (FakeManagement api = new FakeManagement()) {
      Run table = Run.of(env(api), "cluster", "status");
      assertEquals(0, table.status(), table.toString());
      assertEquals(List.of(
          "NODE  PID  STATE        GATEWAY         MANAGEMENT             LOG",
          "1     -    not running  127.0.0.1:8081  http://127.0.0.1:8561  " + clusterDir.resolve("node1.log"),
          "2     -    not running  127.0.0.1:8082  http://127.0.0.1:8562  " + clusterDir.resolve("node2.log"),
          "cassandra: not running",
          "transport: plaintext"), table.out().lines().toList());

      JsonNode json = Management.JSON.readTree(Run.of(env(api), "cluster", "status", "-o", "json").out());
      assertEquals(clusterDir.toAbsolutePath().toString(), json.get("dir").asText());
      assertEquals(2, json.get("nodes").size());
      JsonNode two = json.get("nodes").get(1);
      assertEquals(2, two.get("node").asInt());
      assertTrue(two.get("pid").isNull());
      assertFalse(two.get("alive").asBoolean());
      assertEquals("127.0.0.1:8082", two.get("gateway").asText());
      assertEquals("http://127.0.0.1:8562", two.get("management").asText());
      assertEquals("127.0.0.1:9042", json.at("/cassandra/contactPoint").asText());
      assertEquals("plaintext", json.get("transport").asText());

      Run yaml = Run.of(env(api), "cluster", "status", "-o", "yaml");
      assertEquals(json, Management.JSON.valueToTree(new org.yaml.snakeyaml.Yaml().load(yaml.out())));

      Map<String, String> elsewhere = new java.util.HashMap<>(env(api));
      elsewhere.put("AIMOS_CLUSTER_DIR", dir.resolve("none").toString());
      Run none = Run.of(elsewhere, "cluster", "status");
      assertEquals(1, none.status(), none.toString());
      assertTrue(none.err().startsWith("error: No local cluster here (" + dir.resolve("none")), none.toString());
      assertTrue(none.err().contains("bin/aimos cluster up"), none.toString());
      assertEquals(List.of(), api.calls);
    }
  }
}
