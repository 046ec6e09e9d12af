package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferenceServiceClient;
import aimos.billing.ledger.LedgerRow;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GPU/CPU quotas under concurrent load against a slow model: a tenant never holds more worker leases than its
 * quota (and is told RESOURCE_EXHAUSTED when it waited too long for one), and a model out of capacity is
 * UNAVAILABLE; both say which, and neither bills anything.
 */
class WorkerQuotaIT {
  private static TestCluster cluster;
  private static InferenceServiceClient client;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, """
        aimos.sandbox.slots = 3
        aimos.model.lease-queue-timeout = 1s
        aimos.tenant.worker-lease-wait = 1500ms
        aimos.model.lease-ttl = 1s
        """);
    client = cluster.client(0);
    Http.textModel(cluster, "slowpoke");
    cluster.awaitWorkerReady("slowpoke", "v1");
    TestCluster.infer(client, Http.tenantWithKey(cluster, "warmer", 100, 4), "slowpoke", "warm", "warm up");
    var armed = Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/slowpoke/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"SLOW\", \"count\": 100000, \"delayMs\": 300}");
    assertEquals(202, armed.status(), armed.body());
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static Map<String, String> burst(String key, String prefix, int callers, int each) {
    Map<String, String> outcomes = new ConcurrentHashMap<>();
    var threads = java.util.concurrent.Executors.newFixedThreadPool(callers);
    List<CompletableFuture<Void>> running = IntStream.range(0, callers).mapToObj(c -> CompletableFuture.runAsync(() -> {
      for (int i = 0; i < each; i++) {
        String id = prefix + "-" + c + "-" + i;
        try {
          TestCluster.infer(client, key, "slowpoke", id, "slow request " + id);
          outcomes.put(id, "OK");
        } catch (CompletionException e) {
          var status = ((StatusRuntimeException) e.getCause()).getStatus();
          outcomes.put(id, status.getCode().name() + ": " + status.getDescription());
        }
      }
    }, threads)).toList();
    CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).join();
    threads.shutdown();
    return outcomes;
  }

  private static Map<String, Integer> peaks() {
    var leases = Http.admin(cluster, "GET", "/admin/models/slowpoke/leases", null).json();
    Map<String, Integer> peaks = new java.util.HashMap<>();
    leases.get("peakLeasesByTenant").fields().forEachRemaining(e -> peaks.put(e.getKey(), e.getValue().asInt()));
    return peaks;
  }

  private static void assertBilledExactly(String tenant, Map<String, String> outcomes) {
    Set<String> answered = outcomes.entrySet().stream().filter(e -> e.getValue().equals("OK"))
        .map(Map.Entry::getKey).collect(Collectors.toSet());
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      Set<String> billed = cluster.ledgerRows(tenant, month).stream()
          .map(LedgerRow::requestId).collect(Collectors.toSet());
      assertEquals(answered, billed);
      return null;
    });
  }

  @Test
  void aTenantNeverHoldsMoreWorkerLeasesThanItsQuota() {
    Http.Reply created = Http.admin(cluster, "POST", "/admin/tenants", """
        {"id": "quota", "name": "Quota", "plan": {"requestsPerMinute": 100000, "tokensPerMinute": 10000000,
         "monthlyBudgetUsd": "100", "maxConcurrentRequests": 40, "maxWorkerLeases": 2}}""");
    assertEquals(201, created.status(), created.body());
    assertTrue(created.body().contains("\"maxWorkerLeases\":2"), created.body());
    String key = Http.admin(cluster, "POST", "/admin/tenants/quota/keys", null).json().get("apiKey").asText();

    // 24 callers on a quota of 2 leases of 300 ms each: the later ones cannot get a lease within the 1.5 s wait
    Map<String, String> outcomes = burst(key, "q", 24, 2);
    assertEquals(2, peaks().get("quota"), "the quota was used, never exceeded");
    long ok = outcomes.values().stream().filter("OK"::equals).count();
    assertTrue(ok >= 2, outcomes.toString());
    for (String o : outcomes.values()) {
      assertTrue(o.equals("OK") || o.startsWith("RESOURCE_EXHAUSTED: worker_leases: tenant quota holds all 2"), o);
    }
    assertTrue(outcomes.values().stream().anyMatch(o -> o.startsWith("RESOURCE_EXHAUSTED")), outcomes.toString());
    assertBilledExactly("quota", outcomes);
  }

  @Test
  void aRequestLongerThanTheLeaseTtlKeepsItsLease() throws Exception {
    Http.textModel(cluster, "marathon");
    String key = Http.tenantWithKey(cluster, "runner", 100, 4);
    cluster.awaitWorkerReady("marathon", "v1");
    TestCluster.infer(client, key, "marathon", "m-warm", "warm up");
    assertEquals(202, Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/marathon/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"SLOW\", \"count\": 1, \"delayMs\": 3000}").status());
    var running = CompletableFuture.supplyAsync(() ->
        TestCluster.infer(client, key, "marathon", "m-long", "three seconds, three lease TTLs"));
    // well past the 1 s TTL the lease is still held, because the gateway renews it
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(5), Duration.ofMillis(100), () -> {
      var report = Http.admin(cluster, "GET", "/admin/models/marathon/leases", null).json();
      assertEquals(1, report.get("activeLeases").asInt(), report.toString());
      return null;
    });
    probe.expectNoMessage(Duration.ofMillis(1500));
    var report = Http.admin(cluster, "GET", "/admin/models/marathon/leases", null).json();
    assertEquals(1, report.get("activeLeases").asInt(), "still leased after 1.5 TTLs: " + report);
    assertEquals("TTLs lease three seconds, three", running.get().getText().getCompletion());
    probe.awaitAssert(Duration.ofSeconds(5), Duration.ofMillis(100), () -> {
      var done = Http.admin(cluster, "GET", "/admin/models/marathon/leases", null).json();
      assertEquals(0, done.get("activeLeases").asInt(), done.toString());
      return null;
    });
  }

  @Test
  void aModelOutOfCapacityIsUnavailableAndSaysSo() {
    String key = Http.tenantWithKey(cluster, "greedy", 100_000, 40);
    Map<String, String> outcomes = burst(key, "g", 24, 2);
    assertTrue(peaks().get("greedy") <= 3, "never more leases than the model's 3 slots");
    assertTrue(outcomes.values().stream().anyMatch("OK"::equals), outcomes.toString());
    for (String o : outcomes.values()) {
      assertTrue(o.equals("OK") || o.startsWith("UNAVAILABLE: no capacity"), o);
    }
    assertTrue(outcomes.values().stream().anyMatch(o -> o.startsWith("UNAVAILABLE")), outcomes.toString());
    assertBilledExactly("greedy", outcomes);
  }
}
