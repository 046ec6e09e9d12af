package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.GetUsageRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferenceServiceClient;
import aimos.tenant.TenantEntity;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Three nodes in one cluster: any node serves any tenant, and the entities are spread over the nodes. */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class ClusterIT {
  private static TestCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(3);
    Http.textModel(cluster, "shared-text", 3);
    cluster.awaitWorkers("shared-text", "v1", 3);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  @org.junit.jupiter.api.Order(1)
  void everyNodeServesEveryTenantAndTenantsLiveOnSeveralNodes() {
    List<String> tenants = List.of("north", "south", "east", "west", "upper", "lower", "left", "right");
    List<String> keys = new ArrayList<>();
    tenants.forEach(t -> keys.add(Http.tenantWithKey(cluster, t, 1000, 8)));
    List<InferenceServiceClient> clients = List.of(cluster.client(0), cluster.client(1), cluster.client(2));

    int requests = 0;
    for (int t = 0; t < tenants.size(); t++) {
      for (int node = 0; node < 3; node++) {
        String id = tenants.get(t) + "-via-" + node;
        InferResponse r = TestCluster.infer(clients.get(node), keys.get(t), "shared-text", id, "from node " + node);
        assertEquals(String.valueOf(node) + " node from", r.getText().getCompletion());
        requests++;
      }
    }
    assertEquals(24, requests);

    // the usage written through any node is read back through another
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      for (int t = 0; t < tenants.size(); t++) {
        var usage = clients.get((t + 1) % 3).getUsage().addHeader("authorization", "Bearer " + keys.get(t))
            .invoke(GetUsageRequest.newBuilder().setMonth(month).build()).toCompletableFuture().join();
        assertEquals(3, usage.getRequests(), tenants.get(t));
      }
      return null;
    });

    // tenant entities are hosted by more than one node
    TestProbe<ShardRegion.ClusterShardingStats> stats = TestProbe.create(cluster.nodes.get(0).system());
    ClusterSharding.get(cluster.nodes.get(0).system()).shardState()
        .tell(new GetClusterShardingStats(TenantEntity.ENTITY_KEY, Duration.ofSeconds(5), stats.ref()));
    Set<Object> hosting = new HashSet<>();
    stats.receiveMessage(Duration.ofSeconds(10)).getRegions().forEach((address, regionStats) -> {
      if (!regionStats.getStats().isEmpty()) {
        hosting.add(address);
      }
    });
    assertTrue(hosting.size() >= 2, "tenant shards on " + hosting);

    // every node runs a sandbox for the model, and each is registered as a worker
    var leases = Http.admin(cluster, "GET", "/admin/models/shared-text/leases", null);
    assertEquals(3, leases.json().get("workers").asInt(), leases.body());
  }

  /** Runs last (it stops a node): the leaving node's workers and their leases are dropped, nothing else. */
  @Test
  @org.junit.jupiter.api.Order(Integer.MAX_VALUE)
  void workersAndLeasesOfALeavingNodeAreDropped() throws Exception {
    Http.textModel(cluster, "leaving-text", 3);
    Http.textModel(cluster, "spread-text", 2);
    String key = Http.tenantWithKey(cluster, "leaver", 10_000, 32);
    InferenceServiceClient client = cluster.client(0);
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    cluster.awaitWorkers("leaving-text", "v1", 3);
    TestCluster.infer(client, key, "leaving-text", "leave-warm", "warm up");
    assertEquals(202, Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/leaving-text/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"SLOW\", \"count\": 1000, \"delayMs\": 8000}").status());

    var threads = java.util.concurrent.Executors.newFixedThreadPool(6);
    java.util.Map<String, String> outcomes = new java.util.concurrent.ConcurrentHashMap<>();
    List<java.util.concurrent.CompletableFuture<Void>> running = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String id = "leave-" + i;
      running.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
        try {
          TestCluster.infer(client, key, "leaving-text", id, "slow " + id);
          outcomes.put(id, "OK");
        } catch (java.util.concurrent.CompletionException e) {
          outcomes.put(id, ((io.grpc.StatusRuntimeException) e.getCause()).getStatus().getCode().name());
        }
      }, threads));
    }
    String leaving = cluster.nodes.get(2).system().address().hostPort();
    // a version with 2 replicas runs on 2 distinct nodes (its sandboxes start when placed, before any request)
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      var spread = Http.admin(cluster, "GET", "/admin/models/spread-text/leases", null).json();
      Set<String> nodes = new HashSet<>();
      spread.get("leasesByWorker").fieldNames().forEachRemaining(w -> nodes.add(w.substring(0, w.indexOf('/'))));
      assertEquals(2, nodes.size(), spread.toString());
      return null;
    });
    probe.awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> {
      var report = Http.admin(cluster, "GET", "/admin/models/leaving-text/leases", null).json();
      assertEquals(6, report.get("activeLeases").asInt(), report.toString());
      return null;
    });

    cluster.nodes.get(2).shutdown();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      var report = Http.admin(cluster, "GET", "/admin/models/leaving-text/leases", null).json();
      assertEquals(2, report.get("workers").asInt(), report.toString());
      report.get("leasesByWorker").fieldNames().forEachRemaining(w ->
          assertTrue(!w.startsWith(leaving), "a worker of the stopped node is still listed: " + report));
      // the 2-replica version is placed again on the nodes that remain
      var spread = Http.admin(cluster, "GET", "/admin/models/spread-text/leases", null).json();
      assertEquals(2, spread.get("workers").asInt(), spread.toString());
      spread.get("leasesByWorker").fieldNames().forEachRemaining(w -> assertTrue(!w.startsWith(leaving), w));
      return null;
    });
    java.util.concurrent.CompletableFuture.allOf(running.toArray(java.util.concurrent.CompletableFuture[]::new)).get();
    threads.shutdown();
    // requests that ran on the remaining nodes were answered; those on the stopped node were not, and none is billed
    long ok = outcomes.values().stream().filter("OK"::equals).count();
    assertTrue(ok >= 1 && ok <= 6, outcomes.toString());
    Set<String> answered = new HashSet<>();
    outcomes.forEach((id, o) -> {
      if (o.equals("OK")) {
        answered.add(id);
      }
    });
    answered.add("leave-warm");
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      Set<String> billed = new HashSet<>();
      cluster.ledgerRows("leaver", month)
          .forEach(r -> billed.add(r.requestId()));
      assertEquals(answered, billed);
      return null;
    });
  }
}
