package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.model.ModelEntity;
import aimos.model.TestConfig;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Real sandbox processes, supervised by a real node actor system. */
class SandboxSupervisionTest {
  private static final ActorTestKit testKit = ActorTestKit.create(TestConfig.clusterWithInMemoryJournal());
  private static final AtomicInteger restarts = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    ModelEntity.init(testKit.system(), ModelEntity.Settings.defaults());
    SandboxMonitor monitor = new SandboxMonitor() {
      @Override
      public void stateChanged(String model, String version, State state) {}

      @Override
      public void restarted(String model, String version) {
        restarts.incrementAndGet();
      }
    };
    testKit.spawn(WorkerHost.create(SandboxSettings.forCurrentJvm(Files.createTempDirectory("sandboxes")), monitor),
        "worker-host");
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static void register(String model) {
    SandboxTestModels.register(testKit, model);
  }

  private static Worker.Result infer(String model, String prompt) {
    return SandboxTestModels.infer(testKit, model, prompt);
  }

  /** The sandbox processes of one model: children running SandboxMain in that model's working directory. */
  static List<ProcessHandle> sandboxes(String model) {
    return ProcessHandle.current().descendants()
        .filter(p -> {
          try {
            java.nio.file.Path proc = java.nio.file.Path.of("/proc", Long.toString(p.pid()));
            return java.nio.file.Files.readString(proc.resolve("cmdline")).contains(SandboxMain.class.getName())
                && java.nio.file.Files.readSymbolicLink(proc.resolve("cwd")).toString().contains("/" + model + "/");
          } catch (java.io.IOException e) {
            return false;
          }
        })
        .toList();
  }

  @Test
  void runsRequestsInASandboxProcessAndRestartsItWhenItDies() {
    register("sbx-crash");
    var first = assertInstanceOf(Worker.Completed.class, infer("sbx-crash", "hello world"));
    assertEquals("world hello", first.completion());
    assertEquals(2, first.promptTokens());

    List<ProcessHandle> before = sandboxes("sbx-crash");
    assertEquals(1, before.size(), "one sandbox process for one model version");
    long oldPid = before.get(0).pid();
    int restartsBefore = restarts.get();
    before.get(0).destroyForcibly();

    TestProbe<Object> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      var after = assertInstanceOf(Worker.Completed.class, infer("sbx-crash", "again and again"));
      assertEquals("again and again", after.completion());
      return null;
    });
    assertTrue(restarts.get() > restartsBefore);
    List<ProcessHandle> now = sandboxes("sbx-crash");
    assertEquals(1, now.size());
    assertNotEquals(oldPid, now.get(0).pid());
  }

  @Test
  void invalidInputFailsOnlyThatRequest() {
    register("sbx-invalid");
    var bad = assertInstanceOf(Worker.Failed.class, infer("sbx-invalid", "   "));
    assertEquals(Worker.FailureKind.INVALID_INPUT, bad.kind());
    assertTrue(bad.message().contains("empty"));
    assertInstanceOf(Worker.Completed.class, infer("sbx-invalid", "still fine"));
  }
}
