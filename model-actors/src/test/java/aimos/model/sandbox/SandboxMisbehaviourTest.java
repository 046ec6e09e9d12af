package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.internal.sandbox.Fault;
import aimos.model.TestConfig;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each misbehaviour, injected into a real sandbox process: only its own requests fail, and it comes back. */
class SandboxMisbehaviourTest {
  private static final ActorTestKit testKit = ActorTestKit.create(TestConfig.clusterWithInMemoryJournal());
  private static ActorRef<WorkerHost.Command> host;
  private static SandboxSettings settings;

  @BeforeAll
  static void start() throws Exception {
    SandboxTestModels.joinAndServeModels(testKit);
    settings = SandboxSettings.forCurrentJvm(Files.createTempDirectory("misbehaving"))
        .withSupervision(Duration.ofSeconds(3), Duration.ofMillis(300), Duration.ofSeconds(60), 3,
            Duration.ofSeconds(1));
    host = testKit.spawn(WorkerHost.create(settings, SandboxMonitor.NONE), "worker-host");
  }

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static void register(String model) {
    SandboxTestModels.register(testKit, model);
    assertInstanceOf(Worker.Completed.class, infer(model, "warm up"));
  }

  static Worker.Result infer(String model, String prompt) {
    return SandboxTestModels.infer(testKit, model, prompt);
  }

  private static void inject(String model, Fault fault, int count) {
    TestProbe<WorkerHost.Statuses> probe = testKit.createTestProbe();
    host.tell(new WorkerHost.InjectFault(model, "v1", fault, count, 0, probe.ref()));
    assertEquals(1, probe.receiveMessage().sandboxes().size(), "the sandbox took the fault");
  }

  static WorkerHost.SandboxStatus status(String model) {
    TestProbe<WorkerHost.Statuses> probe = testKit.createTestProbe();
    host.tell(new WorkerHost.GetStatus(probe.ref()));
    return probe.receiveMessage().sandboxes().stream().filter(s -> s.model().equals(model)).findFirst().orElseThrow();
  }

  /** Injects one fault, checks the faulty request fails as expected, and that the model serves again. */
  private static Worker.Failed misbehaveOnce(String model, Fault fault) {
    register(model);
    register(model + "-steady");
    long pid = status(model).pid();
    inject(model, fault, 1);
    var failed = assertInstanceOf(Worker.Failed.class, infer(model, "this one misbehaves"));
    TestProbe<Object> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      assertEquals("READY", status(model).state());
      assertInstanceOf(Worker.Completed.class, infer(model, "served again"));
      return null;
    });
    var after = status(model);
    assertNotEquals(pid, after.pid(), "a new process");
    assertTrue(after.restarts() >= 1);
    // the other model never noticed
    assertInstanceOf(Worker.Completed.class, infer(model + "-steady", "unaffected"));
    assertEquals(0, status(model + "-steady").restarts());
    return failed;
  }

  @Test
  void aCrashFailsItsRequestAndTheSandboxRestarts() {
    var failed = misbehaveOnce("crashy", Fault.CRASH);
    assertEquals(Worker.FailureKind.MODEL_ERROR, failed.kind());
    assertTrue(status("crashy").lastFailure().contains("exited with code 134"), status("crashy").lastFailure());
  }

  @Test
  void aHungSandboxIsKilledAndRestarted() {
    var failed = misbehaveOnce("hangy", Fault.HANG);
    assertTrue(failed.kind() == Worker.FailureKind.DEADLINE || failed.kind() == Worker.FailureKind.MODEL_ERROR,
        failed.toString());
    assertTrue(status("hangy").lastFailure().contains("hung"), status("hangy").lastFailure());
  }

  @Test
  void aMemoryBlowUpIsStoppedByTheCapAndRestarted() {
    var failed = misbehaveOnce("leaky", Fault.LEAK_MEMORY);
    assertEquals(Worker.FailureKind.MODEL_ERROR, failed.kind());
    String why = status("leaky").lastFailure();
    assertTrue(why.contains("out of heap memory") || why.contains("memory cap"), why);
  }

  @Test
  void garbageOutputFailsItsRequestAndRecyclesTheSandbox() {
    var failed = misbehaveOnce("garbled", Fault.GARBAGE);
    assertEquals(Worker.FailureKind.MODEL_ERROR, failed.kind());
    assertTrue(failed.message().contains("not a reply"), failed.message());
  }

  @Test
  void oversizedOutputFailsItsRequestAndRecyclesTheSandbox() {
    var failed = misbehaveOnce("bloated", Fault.OVERSIZED);
    assertEquals(Worker.FailureKind.MODEL_ERROR, failed.kind());
    assertTrue(failed.message().contains("larger than the limit"), failed.message());
  }

  @Test
  void repeatedFailuresQuarantineTheSandboxUntilAProbePasses() {
    register("flaky");
    inject("flaky", Fault.CRASH, 3);
    TestProbe<Object> probe = testKit.createTestProbe();
    // requests keep coming; the first three that reach the sandbox crash it, then it is quarantined
    probe.awaitAssert(Duration.ofSeconds(40), Duration.ofMillis(100), () -> {
      infer("flaky", "keep trying");
      var s = status("flaky");
      assertEquals(0, s.pendingFaultCount());
      assertTrue(s.restarts() >= 3);
      return null;
    });
    // quarantined: no worker is announced, so leases wait; the probe (1 s) brings it back
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      assertEquals("READY", status("flaky").state());
      assertInstanceOf(Worker.Completed.class, infer("flaky", "probed and back"));
      return null;
    });
    assertTrue(status("flaky").lastFailure().contains("134"), status("flaky").lastFailure());
  }

  @Test
  void theProcessRunsUnderItsCaps() throws Exception {
    register("capped");
    long pid = status("capped").pid();
    SandboxIsolation iso = settings.isolation();
    Path proc = Path.of("/proc", Long.toString(pid));
    String cmdline = Files.readString(proc.resolve("cmdline")).replace('\0', ' ');
    assertTrue(cmdline.contains("-Xmx" + iso.heapMb() + "m"), cmdline);
    if (iso.rlimits()) {
      String limits = Files.readString(proc.resolve("limits"));
      assertTrue(limits.lines().anyMatch(l -> l.startsWith("Max open files") && l.contains(" 1024 ")), limits);
    }
    if (iso.networkIsolated()) {
      assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")), Files.readSymbolicLink(proc.resolve("ns/net")));
    }
    if (iso.cgroups() != SandboxIsolation.Cgroups.NONE) {
      String cgroup = Files.readString(proc.resolve("cgroup"));
      List<Path> dirs = iso.groupDirs(cgroupName(cgroup));
      assertTrue(cgroup.contains("capped"), cgroup);
      Path memoryDir = dirs.stream().filter(d -> d.toString().contains("memory") || iso.cgroups() == SandboxIsolation.Cgroups.V2)
          .findFirst().orElseThrow();
      String limit = Files.readString(memoryDir.resolve(iso.cgroups() == SandboxIsolation.Cgroups.V2
          ? "memory.max" : "memory.limit_in_bytes")).strip();
      assertEquals(Long.toString(256L * 1024 * 1024), limit);
    }
  }

  /** The sandbox's own group name, from a /proc/PID/cgroup line ending in /aimos/NAME. */
  private static String cgroupName(String procCgroup) {
    return procCgroup.lines().filter(l -> l.contains("/aimos/")).findFirst().orElseThrow()
        .replaceAll(".*/aimos/", "");
  }
  private static byte[] png(int width, int height) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY), "png", out);
    return out.toByteArray();
  }

  @Test
  void anImageThatWouldExhaustTheSandboxIsRefusedAndTheSandboxStaysUp() throws Exception {
    SandboxTestModels.register(testKit, "ocr", "ocr-text", BillingUnit.IMAGES);
    TestProbe<Object> probe = testKit.createTestProbe();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      assertEquals("READY", status("ocr").state());
      return null;
    });
    long pid = status("ocr").pid();
    // 92 bytes: a 4096x1 line, 196,608 pixels wide once scaled to the recogniser's 48 pixels of height
    var refused = assertInstanceOf(Worker.Failed.class,
        SandboxTestModels.run(testKit, "ocr", new Worker.ImageJob(png(4096, 1))));
    assertEquals(Worker.FailureKind.INVALID_INPUT, refused.kind(), refused.toString());
    assertTrue(refused.message().contains("at most 1600 pixels wide"), refused.message());
    var white = SandboxTestModels.run(testKit, "ocr", new Worker.ImageJob(png(320, 48)));
    assertInstanceOf(Worker.Seen.class, white, white.toString());
    var after = status("ocr");
    assertEquals(pid, after.pid(), "the same process: " + after);
    assertEquals(0, after.restarts(), after.toString());
  }
}
