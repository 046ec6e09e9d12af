package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.model.ModelEntity;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.pattern.StatusReply;

/** Registers echo-text models and runs requests on them the way the gateway does: lease, run, release. */
final class SandboxTestModels {
  private SandboxTestModels() {}

  static void register(ActorTestKit testKit, String model) {
    var ref = ClusterSharding.get(testKit.system()).entityRefFor(ModelEntity.ENTITY_KEY, model);
    TestProbe<StatusReply<ModelEntity.ModelView>> probe = testKit.createTestProbe();
    ref.tell(new ModelEntity.Register("test", probe.ref()));
    assertTrue(probe.receiveMessage(Duration.ofSeconds(10)).isSuccess());
    ref.tell(new ModelEntity.AddVersion("v1", "echo-text", BillingUnit.TOKENS, 20_000, 1, 0, probe.ref()));
    assertTrue(probe.receiveMessage(Duration.ofSeconds(10)).isSuccess());
  }

  /** The worker's result, or UNAVAILABLE when no lease was granted. */
  static Worker.Result infer(ActorTestKit testKit, String model, String prompt) {
    var ref = ClusterSharding.get(testKit.system()).entityRefFor(ModelEntity.ENTITY_KEY, model);
    TestProbe<ModelEntity.LeaseResult> leases = testKit.createTestProbe();
    ref.tell(new ModelEntity.AcquireLease("", "tenant", leases.ref()));
    ModelEntity.LeaseResult lease = leases.receiveMessage(Duration.ofSeconds(20));
    if (!(lease instanceof ModelEntity.Granted granted)) {
      return new Worker.Failed(Worker.FailureKind.UNAVAILABLE, String.valueOf(lease));
    }
    TestProbe<Worker.Result> results = testKit.createTestProbe();
    granted.worker().tell(new Worker.Run("r", prompt, 0, results.ref()));
    Worker.Result result = results.receiveMessage(Duration.ofSeconds(20));
    ref.tell(new ModelEntity.ReleaseLease(granted.leaseId()));
    return result;
  }
}
