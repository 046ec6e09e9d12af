package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.Fault;
import aimos.model.TestConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real sandbox processes under their caps: one that is busy or paused but answers its health pings, late or not, is
 * left alone; one that stops answering is killed. Pings time out after 1 s, and 4 s without any answer is a hang;
 * requests have 20 s.
 */
class SandboxLivenessTest {
  private static final ActorTestKit testKit = ActorTestKit.create(TestConfig.clusterWithInMemoryJournal());
  private static ActorRef<WorkerHost.Command> host;
  private static SandboxSettings settings;

  @BeforeAll
  static void start() throws Exception {
    SandboxTestModels.joinAndServeModels(testKit);
    SandboxSettings base = SandboxSettings.forCurrentJvm(Files.createTempDirectory("liveness"));
    settings = new SandboxSettings(base.javaCommand(), base.jvmOptions(), base.classpath(), base.workDir(),
        base.slots(), Duration.ofSeconds(20), base.startTimeout(), base.heartbeat(), base.backoffMin(),
        base.backoffMax(), Duration.ofMillis(300), Duration.ofSeconds(1), 4, Duration.ofSeconds(60), 3,
        Duration.ofSeconds(1), base.maxReplyBytes(), base.isolation(), base.upstreams(), base.environment());
    host = testKit.spawn(WorkerHost.create(settings, SandboxMonitor.NONE), "worker-host");
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static void register(String model) {
    SandboxTestModels.register(testKit, model);
    assertInstanceOf(Worker.Completed.class, SandboxTestModels.infer(testKit, model, "warm up"));
  }

  private static WorkerHost.SandboxStatus status(String model) {
    TestProbe<WorkerHost.Statuses> probe = testKit.createTestProbe();
    host.tell(new WorkerHost.GetStatus(probe.ref()));
    return probe.receiveMessage().sandboxes().stream().filter(s -> s.model().equals(model)).findFirst().orElseThrow();
  }

  private static void inject(String model, Fault fault, int count, int delayMillis) {
    TestProbe<WorkerHost.Statuses> probe = testKit.createTestProbe();
    host.tell(new WorkerHost.InjectFault(model, "v1", fault, count, delayMillis, probe.ref()));
    assertEquals(1, probe.receiveMessage().sandboxes().size(), "the sandbox took the fault");
  }

  /** Sends a signal to a process, as kill(1) does. */
  private static void signal(String name, long pid) throws IOException, InterruptedException {
    assertEquals(0, new ProcessBuilder("kill", "-" + name, Long.toString(pid)).start().waitFor());
  }

  @Test
  void aSandboxPausedForLessThanItsHangWindowIsNotKilled() throws Exception {
    register("paused");
    long pid = status("paused").pid();
    // A busy sandbox is paused whole by its CPU cap and by stop-the-world collections (a long full-vocabulary decode
    // in a 640 MB heap on one capped CPU answered pings 1.5 to 3.7 s late). Each pause here outlasts two and a half
    // ping timeouts and stays within the hang window: the answers come late, but they come.
    Duration pause = settings.pingTimeout().multipliedBy(5).dividedBy(2);
    assertTrue(pause.plusSeconds(1).compareTo(settings.hangAfter()) < 0, "the pause fits the window");
    for (int i = 0; i < 2; i++) {
      signal("STOP", pid);
      // the pause is the stimulus: the process is continued by a timer, and the test waits for that
      CompletableFuture<Void> continued = new CompletableFuture<>();
      testKit.system().scheduler().scheduleOnce(pause, () -> {
        try {
          signal("CONT", pid);
          continued.complete(null);
        } catch (Exception e) {
          continued.completeExceptionally(e);
        }
      }, testKit.system().executionContext());
      try {
        continued.get(pause.plusSeconds(10).toMillis(), TimeUnit.MILLISECONDS);
      } finally {
        if (!continued.isDone()) {
          signal("CONT", pid);
        }
      }
      assertInstanceOf(Worker.Completed.class, SandboxTestModels.infer(testKit, "paused", "after pause " + i));
    }
    var after = status("paused");
    assertEquals(pid, after.pid(), "the same process: " + after);
    assertEquals(0, after.restarts(), after.toString());
  }

  @Test
  void aSandboxBusyOnEveryModelThreadIsNotKilled() {
    register("busy");
    long pid = status("busy").pid();
    int slots = settings.slots();
    // every model thread computes for longer than the hang window, under the sandbox's CPU cap
    int busyMillis = (int) settings.hangAfter().toMillis() + 1000;
    inject("busy", Fault.CPU_BUSY, slots, busyMillis);
    List<Worker.Result> results = SandboxTestModels.runAll(testKit, "busy",
        Collections.nCopies(slots, new Worker.TextJob("busy but alive", 0)));
    results.forEach(r -> assertInstanceOf(Worker.Completed.class, r, r.toString()));
    var after = status("busy");
    assertEquals(pid, after.pid(), "the same process: " + after);
    assertEquals(0, after.restarts(), after.toString());
  }

  @Test
  void aSandboxThatStopsAnsweringIsKilledWithinItsHangWindow() {
    register("stuck");
    long pid = status("stuck").pid();
    inject("stuck", Fault.HANG, 1, 0);
    // the request fails when its process is killed, well before its 20 s deadline
    long started = System.nanoTime();
    var failed = assertInstanceOf(Worker.Failed.class, SandboxTestModels.infer(testKit, "stuck", "never answered"));
    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertEquals(Worker.FailureKind.MODEL_ERROR, failed.kind(), failed.toString());
    assertTrue(took.compareTo(settings.requestTimeout()) < 0, took.toString());
    TestProbe<Object> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      var s = status("stuck");
      assertNotEquals(pid, s.pid());
      assertTrue(s.lastFailure().contains("no health ping answered"), s.lastFailure());
      return null;
    });
  }
}
