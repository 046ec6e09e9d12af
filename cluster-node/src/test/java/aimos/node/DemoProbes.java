package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.node.dev.DemoReadiness;
import java.time.Duration;
import java.util.Map;

/** {@code bin/aimos dev}'s readiness probes run against a test node's models, with a tenant of their own. */
final class DemoProbes {
  private DemoProbes() {}

  /** Asks each model (name to runtime) with the sample input of its runtime; every one must answer. */
  static void everyModelAnswers(TestCluster cluster, String tenant, Map<String, String> runtimes) {
    String key = Http.tenantWithKey(cluster, tenant, 1000, 16);
    var client = cluster.client(0);
    try {
      var outcome = DemoReadiness.await(client, key, runtimes.entrySet().stream()
          .map(e -> new DemoReadiness.Probe(e.getKey(), DemoReadiness.sampleRequest(e.getKey(), e.getValue())))
          .toList(), Duration.ofMinutes(1), System.out);
      assertTrue(outcome.allAnswered(), outcome.toString());
      assertEquals(runtimes.keySet(), outcome.answered().keySet(), outcome.toString());
    } finally {
      client.close();
    }
  }
}
