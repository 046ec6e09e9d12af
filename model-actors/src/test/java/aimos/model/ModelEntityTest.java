package aimos.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.model.sandbox.Worker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ModelEntityTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(TestConfig.clusterWithInMemoryJournal()));
  private static final AtomicInteger ids = new AtomicInteger();
  private static final ModelEntity.Settings SETTINGS = new ModelEntity.Settings(Duration.ofSeconds(2),
      Duration.ofMillis(600), 2, Duration.ofSeconds(30), Duration.ofMillis(100));

  private EventSourcedBehaviorTestKit<ModelEntity.Command, ModelEntity.Event, ModelState> kit;
  private String name;
  private String self;

  @BeforeAll
  static void joinSelf() {
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    name = "model-" + ids.incrementAndGet();
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), ModelEntity.create(name, SETTINGS),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    self = Cluster.get(testKit.system()).selfMember().address().toString();
    var probe = testKit.<org.apache.pekko.cluster.typed.SelfUp>createTestProbe();
    probe.awaitAssert(() -> {
      assertEquals(org.apache.pekko.cluster.MemberStatus.up(), Cluster.get(testKit.system()).selfMember().status());
      return null;
    });
  }

  private ModelEntity.ModelView registerWithVersion(String version) {
    var r = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt -> new ModelEntity.Register("demo", rt));
    assertTrue(r.reply().isSuccess());
    var v = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt ->
        new ModelEntity.AddVersion(version, "echo-text", BillingUnit.TOKENS, 20_000, 1, 0, rt));
    assertTrue(v.reply().isSuccess(), () -> v.reply().toString());
    return v.reply().getValue();
  }

  @Test
  void registersImmutableVersionsAndKeepsThemAcrossRestart() {
    registerWithVersion("v1");
    var v2 = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt ->
        new ModelEntity.AddVersion("v2", "echo-text", BillingUnit.TOKENS, 18_000, 2, 0, rt));
    assertEquals("v2", v2.reply().getValue().defaultVersion());

    var again = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt ->
        new ModelEntity.AddVersion("v1", "echo-text", BillingUnit.TOKENS, 1, 1, 0, rt));
    assertTrue(again.reply().isError());
    assertTrue(again.reply().getError().getMessage().contains("immutable"));
    assertTrue(again.hasNoEvents());

    var restarted = kit.restart();
    assertEquals(2, restarted.state().versions.size());
    assertEquals(20_000, restarted.state().versions.get("v1").unitPriceMicros());
  }

  @Test
  void refusesBadVersionsWithoutChangingState() {
    registerWithVersion("v1");
    var badRuntime = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt ->
        new ModelEntity.AddVersion("v2", "gpt-17", BillingUnit.TOKENS, 1, 1, 0, rt));
    assertTrue(badRuntime.reply().getError().getMessage().contains("runtime must be one of"));
    var badName = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt ->
        new ModelEntity.AddVersion("v 2", "echo-text", BillingUnit.TOKENS, 1, 1, 0, rt));
    assertTrue(badName.reply().isError());
    var badUnit = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt ->
        new ModelEntity.AddVersion("v3", "echo-text", BillingUnit.BILLING_UNIT_UNSPECIFIED, 1, 1, 0, rt));
    assertTrue(badUnit.reply().getError().getMessage().contains("billingUnit"));
    assertTrue(badRuntime.hasNoEvents() && badName.hasNoEvents() && badUnit.hasNoEvents());
  }

  @Test
  void anUnknownModelHasNoVersionsAndItsEntityStopsAfterItsAnswer() {
    TestProbe<ModelEntity.LeaseResult> replies = testKit.createTestProbe();
    var unknown = testKit.spawn(ModelEntity.create("never-registered-" + System.nanoTime(), SETTINGS));
    unknown.tell(new ModelEntity.AcquireLease("", "t", replies.ref()));
    assertInstanceOf(ModelEntity.NoSuchVersion.class, replies.receiveMessage());
    replies.expectTerminated(unknown);
  }

  @Test
  void theSameHolderAskingAgainGetsItsLeaseBackOrTakesItsWaitingPlace() {
    registerWithVersion("v1");
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.RegisterWorker("w1", "v1", worker.ref(), 1, self));
    var first = assertInstanceOf(ModelEntity.Granted.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("", "t", rt, "t/adm-1")).reply());
    // the answer was lost on the way: asked again, the holder gets the same lease, not the worker's only other slot
    var again = assertInstanceOf(ModelEntity.Granted.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("", "t", rt, "t/adm-1")).reply());
    assertEquals(first.leaseId(), again.leaseId());
    assertEquals("w1", again.workerId());
    assertEquals("v1", again.version().version());

    // another holder waits for the slot; asked again, its new ask takes the waiting one's place
    TestProbe<ModelEntity.LeaseResult> gone = testKit.createTestProbe();
    TestProbe<ModelEntity.LeaseResult> asker = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", gone.ref(), "t/adm-2"));
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", asker.ref(), "t/adm-2"));
    kit.runCommand(new ModelEntity.ReleaseLease(first.leaseId()));
    var second = asker.expectMessageClass(ModelEntity.Granted.class);
    gone.expectNoMessage(Duration.ofMillis(100));
    // one lease held, by the second holder
    TestProbe<ModelEntity.LeaseReport> report = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.GetLeases(report.ref()));
    assertEquals(1, report.receiveMessage().activeLeases());
    assertEquals(second.leaseId(), assertInstanceOf(ModelEntity.Granted.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("", "t", rt, "t/adm-2")).reply()).leaseId());
  }

  @Test
  void aWaitingRequestWhoseAskerGaveUpIsNeverGrantedASlot() {
    registerWithVersion("v1");
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.RegisterWorker("w1", "v1", worker.ref(), 1, self));
    var held = assertInstanceOf(ModelEntity.Granted.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("", "t", rt)).reply());
    // this asker stops waiting at once; another waits behind it
    TestProbe<ModelEntity.LeaseResult> gaveUp = testKit.createTestProbe();
    TestProbe<ModelEntity.LeaseResult> patient = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", gaveUp.ref(), "t/adm-1", System.currentTimeMillis() + 50));
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", patient.ref(), "t/adm-2", 0));
    gaveUp.expectNoMessage(Duration.ofMillis(100));
    // the slot freed goes to the one still waiting, not to the one gone (whose lease nobody would give back)
    kit.runCommand(new ModelEntity.ReleaseLease(held.leaseId()));
    patient.expectMessageClass(ModelEntity.Granted.class);
    gaveUp.expectNoMessage(Duration.ofMillis(50));
    // an ask that arrives after its asker's deadline is dropped
    TestProbe<ModelEntity.LeaseResult> late = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", late.ref(), "t/adm-3", System.currentTimeMillis() - 1));
    late.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void grantsLeasesUpToTheWorkersSlotsThenQueuesThenRefuses() {
    registerWithVersion("v1");
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.RegisterWorker("w1", "v1", worker.ref(), 1, self));

    var first = kit.<ModelEntity.LeaseResult>runCommand(rt -> new ModelEntity.AcquireLease("", "t", rt));
    var granted = assertInstanceOf(ModelEntity.Granted.class, first.reply());
    assertEquals("w1", granted.workerId());
    assertEquals("v1", granted.version().version());

    // the only slot is taken: the next request waits, and gets the slot when it is released
    TestProbe<ModelEntity.LeaseResult> waiting = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", waiting.ref()));
    waiting.expectNoMessage(Duration.ofMillis(100));
    kit.runCommand(new ModelEntity.ReleaseLease(granted.leaseId()));
    var second = assertInstanceOf(ModelEntity.Granted.class, waiting.receiveMessage());

    // nobody releases now: a waiting request is refused once the queue timeout passes
    TestProbe<ModelEntity.LeaseResult> refused = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", refused.ref()));
    var noCapacity = refused.expectMessageClass(ModelEntity.NoCapacity.class, Duration.ofSeconds(3));
    assertTrue(noCapacity.message().contains("busy"), noCapacity.message());

    // the unreleased lease expires after its TTL and the slot is reclaimed
    TestProbe<ModelEntity.LeaseReport> report = testKit.createTestProbe();
    report.awaitAssert(Duration.ofSeconds(5), () -> {
      kit.runCommand(new ModelEntity.GetLeases(report.ref()));
      assertEquals(0, report.receiveMessage().activeLeases());
      return null;
    });
    assertTrue(second.leaseId() != null);
  }

  @Test
  void aRenewedLeaseOutlivesItsFirstTtl() throws Exception {
    registerWithVersion("v1");
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.RegisterWorker("w1", "v1", worker.ref(), 2, self));
    var granted = (ModelEntity.Granted) kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("", "t", rt)).reply();
    // renew every 500 ms for 3 s: six times past nothing but renewals (TTL 2 s)
    TestProbe<ModelEntity.LeaseReport> report = testKit.createTestProbe();
    for (int i = 0; i < 6; i++) {
      report.expectNoMessage(Duration.ofMillis(500));
      kit.runCommand(new ModelEntity.RenewLease(granted.leaseId()));
    }
    kit.runCommand(new ModelEntity.GetLeases(report.ref()));
    assertEquals(1, report.receiveMessage().activeLeases());
    // renewing an unknown lease creates nothing
    kit.runCommand(new ModelEntity.RenewLease("no-such-lease"));
    kit.runCommand(new ModelEntity.GetLeases(report.ref()));
    assertEquals(1, report.receiveMessage().activeLeases());
  }

  @Test
  void refusesAnUnknownVersionAndAFullQueue() {
    registerWithVersion("v1");
    var unknown = kit.<ModelEntity.LeaseResult>runCommand(rt -> new ModelEntity.AcquireLease("v9", "t", rt));
    var nsv = assertInstanceOf(ModelEntity.NoSuchVersion.class, unknown.reply());
    assertTrue(nsv.message().contains("versions: v1"), nsv.message());

    // no worker at all: two may wait (the queue limit), the third is refused at once
    TestProbe<ModelEntity.LeaseResult> probe = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", probe.ref()));
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", probe.ref()));
    kit.runCommand(new ModelEntity.AcquireLease("v1", "t", probe.ref()));
    var full = probe.expectMessageClass(ModelEntity.NoCapacity.class);
    assertTrue(full.message().contains("already waiting"), full.message());
    var late = probe.expectMessageClass(ModelEntity.NoCapacity.class, Duration.ofSeconds(3));
    assertTrue(late.message().contains("no worker"), late.message());
  }

  @Test
  void dropsAWorkerThatGoesDown() {
    registerWithVersion("v1");
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.RegisterWorker("w1", "v1", worker.ref(), 4, self));
    kit.runCommand(new ModelEntity.WorkerDown("w1"));
    var report = kit.<ModelEntity.LeaseReport>runCommand(ModelEntity.GetLeases::new).reply();
    assertEquals(0, report.workers());
  }

  @Test
  void dropsWorkersOfNodesThatAreNotClusterMembers() {
    registerWithVersion("v1");
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.RegisterWorker("w1", "v1", worker.ref(), 4, "pekko://Gone@10.9.9.9:25520"));
    TestProbe<ModelEntity.LeaseReport> report = testKit.createTestProbe();
    report.awaitAssert(() -> {
      kit.runCommand(new ModelEntity.GetLeases(report.ref()));
      assertEquals(0, report.receiveMessage().workers());
      return null;
    });
  }

  @Test
  void aRetiredVersionTakesNoNewLeasesLetsItsRequestsFinishAndIsThenDropped() {
    registerWithVersion("v1");
    kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt ->
        new ModelEntity.AddVersion("v2", "echo-text", BillingUnit.TOKENS, 20_000, 1, 0, rt));
    TestProbe<Worker.Command> w1 = testKit.createTestProbe();
    TestProbe<Worker.Command> w2 = testKit.createTestProbe();
    kit.runCommand(new ModelEntity.RegisterWorker("w1", "v1", w1.ref(), 2, self));
    kit.runCommand(new ModelEntity.RegisterWorker("w2", "v2", w2.ref(), 2, self));
    var inFlight = assertInstanceOf(ModelEntity.Granted.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("v1", "t", rt)).reply());

    var retired = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt -> new ModelEntity.RetireVersion("v1", rt));
    assertInstanceOf(ModelEntity.VersionRetired.class, retired.event());
    assertEquals(java.util.List.of("v1"), retired.reply().getValue().retiredVersions());
    assertEquals("v2", retired.reply().getValue().defaultVersion());
    assertEquals(2, retired.reply().getValue().versions().size(), "still listed");
    // again: nothing new
    assertTrue(kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt -> new ModelEntity.RetireVersion("v1", rt))
        .hasNoEvents());

    var refused = assertInstanceOf(ModelEntity.NoSuchVersion.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("v1", "t", rt)).reply());
    assertEquals("model " + name + " version v1 is retired and takes no new requests; use version v2 (the default: "
        + "name no version)", refused.message());
    assertEquals("v2", assertInstanceOf(ModelEntity.Granted.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("", "t", rt)).reply()).version().version());

    // the request in flight keeps its worker until it gives its lease back; then the worker is dropped
    var report = kit.<ModelEntity.LeaseReport>runCommand(ModelEntity.GetLeases::new).reply();
    assertEquals(1, report.leasesByWorker().get("w1"));
    kit.runCommand(new ModelEntity.ReleaseLease(inFlight.leaseId()));
    testKit.createTestProbe().awaitAssert(() -> {
      var after = kit.<ModelEntity.LeaseReport>runCommand(ModelEntity.GetLeases::new).reply();
      assertTrue(!after.leasesByWorker().containsKey("w1"), after.toString());
      return null;
    });
    // its sandbox's heartbeats register nothing any more
    kit.runCommand(new ModelEntity.RegisterWorker("w1", "v1", w1.ref(), 2, self));
    assertTrue(!kit.<ModelEntity.LeaseReport>runCommand(ModelEntity.GetLeases::new).reply().leasesByWorker()
        .containsKey("w1"));

    var restarted = kit.restart();
    assertTrue(restarted.state().retired.containsKey("v1"));
    assertInstanceOf(ModelEntity.NoSuchVersion.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("v1", "t", rt)).reply());
  }

  @Test
  void retiringAnUnknownVersionOrEveryVersionSaysWhatToDo() {
    registerWithVersion("v1");
    var unknown = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt -> new ModelEntity.RetireVersion("v9", rt));
    assertEquals("model " + name + " version v9 does not exist (versions: v1)", unknown.reply().getError()
        .getMessage());
    assertTrue(unknown.hasNoEvents());
    kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt -> new ModelEntity.RetireVersion("v1", rt));
    var none = assertInstanceOf(ModelEntity.NoSuchVersion.class, kit.<ModelEntity.LeaseResult>runCommand(
        rt -> new ModelEntity.AcquireLease("", "t", rt)).reply());
    assertEquals("every version of model " + name + " is retired (v1): use another model", none.message());
  }
}
