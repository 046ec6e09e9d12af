package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferenceServiceClient;
import aimos.billing.ledger.LedgerRow;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A misbehaving model on a node next to a healthy one: its faults (crash, hang, memory blow-up, garbage) fail only
 * its own requests, bill nothing, the node stays up, and the healthy model's p99 stays within a bound derived from
 * its own baseline measured first in this test.
 */
class SandboxIsolationIT {
  private static TestCluster cluster;
  private static InferenceServiceClient client;
  private static String key;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, """
        aimos.sandbox.request-timeout = 3s
        aimos.sandbox.ping-interval = 300ms
        aimos.sandbox.quarantine-after = 100
        """);
    client = cluster.client(0);
    Http.textModel(cluster, "victim");
    Http.textModel(cluster, "bystander");
    cluster.awaitWorkerReady("victim", "v1");
    cluster.awaitWorkerReady("bystander", "v1");
    key = Http.tenantWithKey(cluster, "isolation", 1_000_000, 64);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static Http.Reply fault(String token, String model, String body) {
    return Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/" + model + "/v1/faults", token, body);
  }

  private static double p99(List<Long> nanos) {
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    return sorted.get((int) Math.ceil(0.99 * sorted.size()) - 1) / 1e6;
  }

  private static String outcome(String model, String requestId) {
    try {
      TestCluster.infer(client, key, model, requestId, "request " + requestId);
      return "OK";
    } catch (CompletionException e) {
      return ((StatusRuntimeException) e.getCause()).getStatus().getCode().name();
    }
  }

  @Test
  void faultsInOneModelHurtOnlyItsOwnRequests() throws Exception {
    assertEquals("OK", outcome("victim", "v-warm"));
    List<Long> baseline = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      long t0 = System.nanoTime();
      assertEquals("OK", outcome("bystander", "b-base-" + i));
      baseline.add(System.nanoTime() - t0);
    }
    double baselineP99 = p99(baseline);

    Map<String, String> outcomes = new ConcurrentHashMap<>();
    List<Long> during = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    CompletableFuture<Void> bystander = CompletableFuture.runAsync(() -> {
      for (int i = 0; i < 100_000 && !stop.get(); i++) {
        long t0 = System.nanoTime();
        String id = "b-" + i;
        outcomes.put(id, outcome("bystander", id));
        during.add(System.nanoTime() - t0);
      }
    });

    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    int n = 0;
    for (String fault : List.of("CRASH", "HANG", "LEAK_MEMORY", "GARBAGE")) {
      var armed = fault(TestCluster.SECOPS_TOKEN, "victim", "{\"fault\": \"" + fault + "\", \"count\": 1}");
      assertEquals(202, armed.status(), armed.body());
      String id = "v-" + fault;
      String failed = outcome("victim", id);
      outcomes.put(id, failed);
      assertTrue(Set.of("INTERNAL", "DEADLINE_EXCEEDED", "UNAVAILABLE").contains(failed), fault + " gave " + failed);
      // the victim serves again once its sandbox is back
      int attempt = n++;
      probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
        String rid = "v-after-" + attempt + "-" + System.nanoTime();
        String o = outcome("victim", rid);
        outcomes.put(rid, o);
        assertEquals("OK", o);
        return null;
      });
    }
    stop.set(true);
    bystander.get();

    // the bystander never failed, and its tail latency stayed within the bound
    Set<String> bystanderOutcomes = outcomes.entrySet().stream().filter(e -> e.getKey().startsWith("b-"))
        .map(Map.Entry::getValue).collect(Collectors.toSet());
    assertEquals(Set.of("OK"), bystanderOutcomes);
    double duringP99 = p99(during);
    double bound = Math.max(10 * baselineP99, baselineP99 + 250);
    System.out.printf("bystander p99: baseline %.2f ms, during faults %.2f ms (%d requests), bound %.2f ms%n",
        baselineP99, duringP99, during.size(), bound);
    assertTrue(duringP99 <= bound, "bystander p99 " + duringP99 + " ms during faults, baseline " + baselineP99
        + " ms, bound " + bound + " ms");

    // the node is up, the victim's restarts are visible, and exactly the answered requests are billed
    assertEquals(200, Http.call("GET", cluster.managementPort(0), "/alive", null, null).status());
    var sandboxes = Http.admin(cluster, "GET", "/admin/sandboxes", null).json();
    int victimRestarts = 0;
    for (var s : sandboxes) {
      if (s.get("model").asText().equals("victim")) {
        victimRestarts = s.get("restarts").asInt();
        assertEquals("READY", s.get("state").asText());
      }
    }
    assertTrue(victimRestarts >= 4, sandboxes.toString());
    assertTrue(Http.call("GET", cluster.managementPort(0), "/metrics", null, null).body()
        .contains("aimos_sandbox_restarts_total{model=\"victim\",version=\"v1\",}"));

    Set<String> answered = outcomes.entrySet().stream().filter(e -> e.getValue().equals("OK"))
        .map(Map.Entry::getKey).collect(Collectors.toSet());
    answered.add("v-warm");
    for (int i = 0; i < 200; i++) {
      answered.add("b-base-" + i);
    }
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      Set<String> billed = cluster.ledgerRows("isolation", month)
          .stream().map(LedgerRow::requestId).collect(Collectors.toSet());
      Set<String> missing = new java.util.TreeSet<>(answered);
      missing.removeAll(billed);
      Set<String> extra = new java.util.TreeSet<>(billed);
      extra.removeAll(answered);
      assertEquals(Set.of(), missing, "answered but not billed");
      assertEquals(Set.of(), extra, "billed but not answered");
      return null;
    });
  }

  @Test
  void faultInjectionNeedsTheSecopsTokenAndValidInput() {
    assertEquals(401, fault(null, "victim", "{\"fault\": \"CRASH\"}").status());
    assertEquals(403, fault(TestCluster.ADMIN_TOKEN, "victim", "{\"fault\": \"CRASH\"}").status());
    var badFault = fault(TestCluster.SECOPS_TOKEN, "victim", "{\"fault\": \"EXPLODE\"}");
    assertEquals(400, badFault.status());
    assertTrue(badFault.body().contains("CRASH, HANG, LEAK_MEMORY, GARBAGE, OVERSIZED, SLOW, SILENT_WORKER"), badFault.body());
    var badCount = fault(TestCluster.SECOPS_TOKEN, "victim", "{\"fault\": \"CRASH\", \"count\": 0}");
    assertEquals(400, badCount.status());
    var unknown = fault(TestCluster.SECOPS_TOKEN, "no-such-model", "{\"fault\": \"CRASH\"}");
    assertEquals(400, unknown.status());
    assertTrue(unknown.body().contains("no node runs a sandbox"), unknown.body());
    // nothing was armed: the victim still answers (billed to a tenant of its own, apart from the other test)
    String drillsKey = Http.tenantWithKey(cluster, "drills", 1000, 4);
    TestCluster.infer(client, drillsKey, "victim", "after-bad-drills", "still fine");
  }
}
