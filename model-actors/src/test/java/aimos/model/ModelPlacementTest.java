package aimos.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.model.sandbox.WorkerHost;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A version's replicas go to that many hosts; a host that refuses (no device memory) is replaced by another. */
class ModelPlacementTest {
  private static final ActorTestKit testKit = ActorTestKit.create(TestConfig.clusterWithInMemoryJournal());
  private static final List<TestProbe<WorkerHost.Command>> hosts = new ArrayList<>();

  @BeforeAll
  static void start() {
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    for (int i = 0; i < 3; i++) {
      TestProbe<WorkerHost.Command> host = testKit.createTestProbe("host" + i);
      hosts.add(host);
      testKit.system().receptionist().tell(Receptionist.register(WorkerHost.SERVICE_KEY, host.ref()));
    }
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void placesEachReplicaOnADistinctHostAndReplacesRefusals() {
    var model = testKit.spawn(ModelEntity.create("placed", ModelEntity.Settings.defaults()));
    TestProbe<StatusReply<ModelEntity.ModelView>> reply = testKit.createTestProbe();
    model.tell(new ModelEntity.Register("placement", reply.ref()));
    assertTrue(reply.receiveMessage().isSuccess());
    model.tell(new ModelEntity.AddVersion("v1", "echo-text", BillingUnit.TOKENS, 20_000, 2, 4096, reply.ref()));
    assertTrue(reply.receiveMessage().isSuccess());

    // exactly two of the three hosts are asked; the first refuses, so the third is asked instead
    List<WorkerHost.EnsureHosted> asked = new ArrayList<>();
    List<TestProbe<WorkerHost.Command>> askedHosts = new ArrayList<>();
    TestProbe<Object> waiter = testKit.createTestProbe();
    waiter.awaitAssert(Duration.ofSeconds(5), () -> {
      for (var h : hosts) {
        try {
          if (h.receiveMessage(Duration.ofMillis(50)) instanceof WorkerHost.EnsureHosted e && !askedHosts.contains(h)) {
            asked.add(e);
            askedHosts.add(h);
          }
        } catch (AssertionError nothingYet) {
          // this host was not asked (yet)
        }
      }
      assertEquals(2, asked.size());
      return null;
    });
    assertEquals(4096, asked.get(0).version().deviceMemoryMb());
    TestProbe<WorkerHost.Command> third = hosts.stream().filter(h -> !askedHosts.contains(h)).findFirst().orElseThrow();
    third.expectNoMessage(Duration.ofMillis(300));
    asked.get(0).replyTo().tell(new WorkerHost.Refused("no device memory"));
    asked.get(1).replyTo().tell(new WorkerHost.Hosting("node"));
    var replacement = third.expectMessageClass(WorkerHost.EnsureHosted.class, Duration.ofSeconds(3));
    assertEquals("v1", replacement.version().version());
    askedHosts.get(0).expectNoMessage(Duration.ofMillis(300));
  }
}
