package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferResponse;
import aimos.tenant.TenantEntity;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A tenant whose entity recovers from a snapshot on another node keeps its plan, its month's spend (so its budget
 * holds) and its dedup window: a retry is answered from the recording, another input under a used id is refused.
 */
class TenantMoveIT {
  private static TestCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    // a snapshot every 5 events, so that the tenant below recovers from one
    cluster = TestCluster.start(3, "aimos.tenant.snapshot-every = 5");
    Http.textModel(cluster, "move-text", 3);
    cluster.awaitWorkers("move-text", "v1", 3);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  /** The index of the node hosting the tenant's entity now. */
  private static int hostOf(String tenant) {
    var location = Http.admin(cluster, "GET", "/admin/tenants/" + tenant + "/location", null).json();
    String node = location.get("node").asText();
    for (int i = 0; i < cluster.nodes.size(); i++) {
      if (cluster.nodes.get(i).system().address().toString().equals(node)) {
        return i;
      }
    }
    throw new AssertionError("no node " + node + " in " + location);
  }

  @Test
  void aTenantRecoveredFromASnapshotOnAnotherNodeKeepsItsBudgetAndItsDedupWindow() {
    // a tenant whose entity lives on a node other than the first (the tests talk to the first)
    String tenant = null;
    String key = null;
    for (int i = 0; i < 30 && tenant == null; i++) {
      String candidate = "mover-" + i;
      String k = Http.tenantWithKey(cluster, candidate, 10_000, 8);
      if (hostOf(candidate) != 0) {
        tenant = candidate;
        key = k;
      }
    }
    assertTrue(tenant != null, "every candidate tenant landed on the first node");
    int host = hostOf(tenant);
    var client = cluster.client(0);
    String apiKey = key;
    long charged = 0;
    for (int i = 1; i <= 12; i++) {
      InferResponse r = TestCluster.infer(client, key, "move-text", "move-" + i, "words of request " + i);
      charged += aimos.tenant.Money.parseUsd(r.getUsage().getChargeUsd());
    }
    String pid = TenantEntity.persistenceIdOf(tenant);
    var system = cluster.nodes.get(0).system();
    var session = CassandraSessionRegistry.get(system).sessionFor("pekko.persistence.cassandra");
    String snapshots = system.settings().config().getString("pekko.persistence.cassandra.snapshot.keyspace");
    var stored = session.selectAll("SELECT sequence_nr FROM " + snapshots + ".snapshots WHERE persistence_id = ?", pid)
        .toCompletableFuture().join();
    assertTrue(stored.size() >= 1 && stored.stream().allMatch(r -> r.getLong("sequence_nr") >= 5), stored.toString());

    // the budget is now exactly what was spent: the next new request must be refused, wherever the tenant lives
    var before = Http.admin(cluster, "GET", "/admin/tenants/" + tenant, null).json();
    assertEquals(12, before.get("monthRequests").asLong(), before.toString());
    assertEquals(charged, aimos.tenant.Money.parseUsd(before.get("monthSpendUsd").asText()));
    String spent = before.get("monthSpendUsd").asText();
    assertEquals(200, Http.admin(cluster, "PUT", "/admin/tenants/" + tenant + "/plan", """
        {"requestsPerMinute": 10000, "tokensPerMinute": 10000000, "monthlyBudgetUsd": "%s",
         "maxConcurrentRequests": 8}""".formatted(spent)).status());

    cluster.nodes.get(host).shutdown();
    String moved = tenant;
    TestProbe<Object> probe = TestProbe.create(system);
    probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(250), () -> {
      var summary = Http.admin(cluster, "GET", "/admin/tenants/" + moved, null);
      assertEquals(200, summary.status(), summary.body());
      assertNotEquals(host, hostOf(moved));
      return null;
    });

    var after = Http.admin(cluster, "GET", "/admin/tenants/" + tenant, null).json();
    assertEquals(12, after.get("monthRequests").asLong(), after.toString());
    assertEquals(spent, after.get("monthSpendUsd").asText());
    assertEquals(before.get("keys"), after.get("keys"));
    // a retry is answered from its recording, the model not run and nothing billed again
    InferResponse retry = TestCluster.infer(client, key, "move-text", "move-3", "words of request 3");
    assertTrue(retry.getReplayed(), retry.toString());
    // another input under a used request id is refused
    StatusRuntimeException reused = failure(() -> TestCluster.infer(client, apiKey, "move-text", "move-4", "other words"));
    assertEquals(Status.Code.ALREADY_EXISTS, reused.getStatus().getCode(), reused.getMessage());
    // and the month's spend still counts against the budget
    StatusRuntimeException overBudget = failure(() -> TestCluster.infer(client, apiKey, "move-text", "move-13", "more"));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, overBudget.getStatus().getCode());
    assertTrue(overBudget.getStatus().getDescription().contains("budget"), overBudget.getMessage());
    var last = Http.admin(cluster, "GET", "/admin/tenants/" + tenant, null).json();
    assertEquals(12, last.get("monthRequests").asLong(), last.toString());
  }

  private static StatusRuntimeException failure(Runnable call) {
    try {
      call.run();
    } catch (CompletionException e) {
      if (e.getCause() instanceof StatusRuntimeException s) {
        return s;
      }
      throw e;
    }
    throw new AssertionError("the call succeeded");
  }
}
