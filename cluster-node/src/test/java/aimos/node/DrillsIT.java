package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.chaos.drill.Drill;
import aimos.chaos.drill.DrillRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A short version of each sandbox drill against a real node: every invariant must hold. */
class DrillsIT {
  private static TestCluster cluster;
  private static Path reports;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, """
        aimos.sandbox.request-timeout = 3s
        aimos.sandbox.ping-interval = 300ms
        aimos.sandbox.probe-interval = 1s
        aimos.chaos.report-dir = "target/drill-reports"
        """);
    reports = Files.createTempDirectory("drill-reports");
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"sandbox-crash-storm", "sandbox-hang", "sandbox-memory-bomb", "slow-model", "lease-expiry"})
  void drillPasses(String name) throws Exception {
    var node = cluster.nodes.get(0);
    var settings = new DrillRun.Settings("127.0.0.1:" + node.gatewayPort(), "127.0.0.1:" + cluster.managementPort(0),
        TestCluster.ADMIN_TOKEN, TestCluster.SECOPS_TOKEN, Duration.ofSeconds(name.equals("lease-expiry") ? 16 : 6),
        20, 7, reports, 0, null);
    Map<String, Object> report = new DrillRun(node.system(), settings, line -> { }).run(Drill.named(name));
    assertEquals("PASS", report.get("verdict"), DrillRun.summary(report));
    assertTrue(Files.exists(Path.of((String) report.get("reportFile"))));
    @SuppressWarnings("unchecked")
    var figures = (Map<String, Object>) report.get("figures");
    assertTrue(((Number) figures.get("attempted")).longValue() >= 100, figures.toString());
    if (name.equals("slow-model")) {
      assertTrue(((Number) figures.get("victimShareOver100msSlo")).doubleValue() > 0, figures.toString());
    }
  }

  /**
   * Cassandra frozen for 10 s under load: requests fail (UNAVAILABLE) instead of hanging, nothing acknowledged is
   * lost or billed twice, and service comes back by itself.
   */
  @Test
  void cassandraOutage() throws Exception {
    var node = cluster.nodes.get(0);
    long pid = aimos.cassandra.SharedCassandra.launcher().pid();
    var settings = new DrillRun.Settings("127.0.0.1:" + node.gatewayPort(), "127.0.0.1:" + cluster.managementPort(0),
        TestCluster.ADMIN_TOKEN, TestCluster.SECOPS_TOKEN, Duration.ofSeconds(24), 10, 11, reports, pid, null);
    Map<String, Object> report = new DrillRun(node.system(), settings, line -> { }).run(Drill.named("cassandra-outage"));
    assertEquals("PASS", report.get("verdict"), DrillRun.summary(report));
    @SuppressWarnings("unchecked")
    var figures = (Map<String, Object>) report.get("figures");
    assertTrue(((Number) figures.get("firstAttemptSuccessDuringFault")).doubleValue() < 1.0,
        "the outage was felt: " + figures);
  }

  /**
   * A hostile model in a real sandbox of the node, started as the node starts its models' sandboxes, through the
   * secops route as 'bin/aimos chaos run sandbox-escape' does: every attempt is listed and denied, with aimos-jail.
   */
  @Test
  @SuppressWarnings("unchecked")
  void sandboxEscapeDrillPasses() throws Exception {
    var node = cluster.nodes.get(0);
    int port = cluster.managementPort(0);
    assertEquals(403, Http.call("POST", port, "/admin/chaos/drills/sandbox-escape", TestCluster.ADMIN_TOKEN, null)
        .status());
    // no model version can name the probe
    Http.admin(cluster, "POST", "/admin/models", "{\"name\": \"escape-try\"}");
    var named = Http.admin(cluster, "POST", "/admin/models/escape-try/versions",
        "{\"version\": \"v1\", \"runtime\": \"escape-probe\", \"billingUnit\": \"TOKENS\"}");
    assertEquals(400, named.status(), named.body());
    assertTrue(named.body().contains("runtime must be one of"), named.body());

    var settings = new DrillRun.Settings("127.0.0.1:" + node.gatewayPort(), "127.0.0.1:" + port,
        TestCluster.ADMIN_TOKEN, TestCluster.SECOPS_TOKEN, Duration.ofSeconds(6), 20, 7, reports, 0, null);
    Map<String, Object> report = new DrillRun(node.system(), settings, line -> { })
        .run(Drill.named("sandbox-escape"));
    assertEquals("PASS", report.get("verdict"), DrillRun.summary(report));
    var nodes = (java.util.List<Map<String, Object>>) report.get("nodes");
    assertEquals(1, nodes.size());
    Map<String, Object> onNode = nodes.get(0);
    assertEquals(node.system().address().hostPort(), onNode.get("node"));
    assertEquals("JAIL", ((Map<String, Object>) onNode.get("containment")).get("kind"), onNode.toString());
    var attempts = (java.util.List<Map<String, Object>>) onNode.get("attempts");
    assertEquals(aimos.model.sandbox.ContainmentDrill.ATTEMPTS, attempts.stream().map(a -> a.get("attempt")).toList());
    for (Map<String, Object> a : attempts) {
      assertEquals("DENIED", a.get("result"), a.toString());
      assertTrue(!String.valueOf(a.get("detail")).isBlank(), a.toString());
    }
    // as an upstream sandbox its only way out is the egress relay: to the drill's stand-in provider, and nowhere else
    String relayed = String.valueOf(attempts.get(attempts.size() - 1).get("detail"));
    assertTrue(relayed.startsWith("the relay answered HTTP/1.1 403 Forbidden; its provider 127.0.0.1:")
        && relayed.endsWith("HTTP/1.1 200 Connection established"), relayed);
    assertTrue(String.valueOf(attempts.get(aimos.model.sandbox.EscapeProbe.ATTEMPTS.size() - 1).get("detail"))
        .startsWith("no egress socket"), attempts.toString());
    assertEquals(java.util.List.of(), onNode.get("failures"));
    String table = Files.readString(Path.of((String) report.get("tableFile")));
    assertTrue(table.contains("| fork-bomb (start processes until refused) | DENIED | refused after"), table);
    assertTrue(Files.exists(Path.of((String) report.get("reportFile"))));
    assertTrue(DrillRun.summary(report).contains("DENIED    ptrace the node"), DrillRun.summary(report));
  }

  /** The built-in route: secops starts a drill on the node, then reads its report. */
  @Test
  void theNodeRunsADrillOnItself() {
    int port = cluster.managementPort(0);
    assertEquals(403, Http.call("POST", port, "/admin/chaos/drills/slow-model", TestCluster.ADMIN_TOKEN, null).status());
    var unknown = Http.call("POST", port, "/admin/chaos/drills/earthquake", TestCluster.SECOPS_TOKEN, null);
    assertEquals(400, unknown.status());
    assertTrue(unknown.body().contains("sandbox-crash-storm"), unknown.body());
    var outage = Http.call("POST", port, "/admin/chaos/drills/cassandra-outage", TestCluster.SECOPS_TOKEN, null);
    assertEquals(400, outage.status());
    assertTrue(outage.body().contains("bin/aimos chaos run"), outage.body());
    var nodeKill = Http.call("POST", port, "/admin/chaos/drills/node-kill", TestCluster.SECOPS_TOKEN, null);
    assertEquals(400, nodeKill.status());
    assertTrue(nodeKill.body().contains("bin/aimos cluster up"), nodeKill.body());
    assertEquals(400, Http.call("POST", port, "/admin/chaos/drills/slow-model?rate=lots", TestCluster.SECOPS_TOKEN,
        null).status());
    assertEquals(400, Http.call("POST", port, "/admin/chaos/drills/slow-model?duration=1s", TestCluster.SECOPS_TOKEN,
        null).status());

    var started = Http.call("POST", port, "/admin/chaos/drills/sandbox-crash-storm?duration=5s&rate=20&seed=3",
        TestCluster.SECOPS_TOKEN, null);
    assertEquals(202, started.status(), started.body());
    String poll = started.json().get("poll").asText();
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe.create(cluster.nodes.get(0).system())
        .awaitAssert(Duration.ofSeconds(90), Duration.ofMillis(500), () -> {
          var run = Http.call("GET", port, poll, TestCluster.SECOPS_TOKEN, null).json();
          assertEquals("done", run.get("status").asText(), run.toString());
          assertEquals("PASS", run.get("report").get("verdict").asText(), run.toString());
          return null;
        });
    // the secops mutation left exactly one audit record, naming its role, action and target
    var audit = Http.call("GET", port, "/admin/audit?limit=1000", TestCluster.SECOPS_TOKEN, null).json();
    var records = new java.util.ArrayList<com.fasterxml.jackson.databind.JsonNode>();
    audit.get("records").forEach(r -> {
      if (r.get("action").asText().equals("POST /admin/chaos/drills/{drill}")
          && r.path("target").asText().contains("sandbox-crash-storm")) {
        records.add(r);
      }
    });
    assertEquals(1, records.size(), audit.toString());
    assertEquals("secops", records.get(0).get("role").asText(), records.toString());
  }
}
