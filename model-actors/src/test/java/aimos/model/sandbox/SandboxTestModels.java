package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.model.ModelEntity;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.pattern.StatusReply;

/** Registers models (echo-text unless told) and runs requests on them the way the gateway does: lease, run, release. */
final class SandboxTestModels {
  private SandboxTestModels() {}

  /** A one-node cluster serving model entities with short lease and heartbeat times, for sandbox tests. */
  static void joinAndServeModels(ActorTestKit testKit) {
    var cluster = org.apache.pekko.cluster.typed.Cluster.get(testKit.system());
    cluster.manager().tell(org.apache.pekko.cluster.typed.Join.create(cluster.selfMember().address()));
    ModelEntity.init(testKit.system(), new ModelEntity.Settings(Duration.ofSeconds(30), Duration.ofSeconds(8), 64,
        Duration.ofSeconds(6), Duration.ofMillis(100)));
  }

  static void register(ActorTestKit testKit, String model) {
    register(testKit, model, "echo-text", BillingUnit.TOKENS);
  }

  static void register(ActorTestKit testKit, String model, String runtime, BillingUnit unit) {
    var ref = ClusterSharding.get(testKit.system()).entityRefFor(ModelEntity.ENTITY_KEY, model);
    TestProbe<StatusReply<ModelEntity.ModelView>> probe = testKit.createTestProbe();
    ref.tell(new ModelEntity.Register("test", probe.ref()));
    assertTrue(probe.receiveMessage(Duration.ofSeconds(10)).isSuccess());
    ref.tell(new ModelEntity.AddVersion("v1", runtime, unit, 20_000, 1, 0, probe.ref()));
    assertTrue(probe.receiveMessage(Duration.ofSeconds(10)).isSuccess());
  }

  /** The worker's result, or UNAVAILABLE when no lease was granted. */
  static Worker.Result infer(ActorTestKit testKit, String model, String prompt) {
    return run(testKit, model, new Worker.TextJob(prompt, 0));
  }

  static Worker.Result run(ActorTestKit testKit, String model, Worker.Job job) {
    return runAll(testKit, model, java.util.List.of(job)).get(0);
  }

  /** Runs the jobs at once, each on a lease of its own; their results in order. */
  static java.util.List<Worker.Result> runAll(ActorTestKit testKit, String model, java.util.List<Worker.Job> jobs) {
    var ref = ClusterSharding.get(testKit.system()).entityRefFor(ModelEntity.ENTITY_KEY, model);
    java.util.List<ModelEntity.Granted> granted = new java.util.ArrayList<>();
    for (int i = 0; i < jobs.size(); i++) {
      TestProbe<ModelEntity.LeaseResult> leases = testKit.createTestProbe();
      ref.tell(new ModelEntity.AcquireLease("", "tenant", leases.ref()));
      ModelEntity.LeaseResult lease = leases.receiveMessage(Duration.ofSeconds(20));
      if (!(lease instanceof ModelEntity.Granted g)) {
        granted.forEach(held -> ref.tell(new ModelEntity.ReleaseLease(held.leaseId())));
        return java.util.Collections.nCopies(jobs.size(),
            new Worker.Failed(Worker.FailureKind.UNAVAILABLE, String.valueOf(lease)));
      }
      granted.add(g);
    }
    java.util.List<TestProbe<Worker.Result>> results = new java.util.ArrayList<>();
    for (int i = 0; i < jobs.size(); i++) {
      TestProbe<Worker.Result> result = testKit.createTestProbe();
      granted.get(i).worker().tell(new Worker.Run("r" + i, jobs.get(i), result.ref(), null));
      results.add(result);
    }
    java.util.List<Worker.Result> out = new java.util.ArrayList<>();
    for (TestProbe<Worker.Result> result : results) {
      out.add(result.receiveMessage(Duration.ofSeconds(20)));
    }
    granted.forEach(g -> ref.tell(new ModelEntity.ReleaseLease(g.leaseId())));
    return out;
  }
}
