package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A hostile model ({@link HostileRuntime}) in a real contained sandbox process tries every way out it knows; each
 * attempt must fail. The same model without containment gets out, so the test can fail.
 */
class SandboxContainmentTest {
  /** Set in this JVM's environment by the build, as a node has its tokens there. */
  private static final String SECRET = "AIMOS_SECOPS_TOKEN";

  private static Path nodeDir;
  private static Path sandboxes;
  private static ServerSocket listener;
  private static final AtomicInteger connections = new AtomicInteger();
  private static SandboxSettings settings;

  @BeforeAll
  static void setUp() throws IOException {
    assertTrue(System.getenv().containsKey(SECRET), "the test needs " + SECRET + " in its environment");
    nodeDir = Files.createTempDirectory("aimos-node-data");
    Files.createDirectories(nodeDir.resolve("cassandra/data"));
    Files.writeString(nodeDir.resolve("cassandra/data/journal-Data.db"), "tenant rows");
    Files.createDirectories(nodeDir.resolve(".aimos"));
    Files.writeString(nodeDir.resolve(".aimos/tokens.env"), "AIMOS_ADMIN_TOKEN=adm_not_for_models");
    Files.writeString(cwdFile(), "the node's working dir");
    sandboxes = Files.createTempDirectory("aimos-sandboxes");
    Files.createDirectories(sandboxes.resolve("other/v1"));
    Files.writeString(sandboxes.resolve("other/v1/secret.txt"), "another model's data");
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(() -> {
      while (!listener.isClosed()) {
        try (Socket s = listener.accept()) {
          connections.incrementAndGet();
        } catch (IOException e) {
          return;
        }
      }
    }, "hostile-listener");
    accept.setDaemon(true);
    accept.start();
    settings = SandboxSettings.forCurrentJvm(sandboxes);
  }

  @AfterAll
  static void tearDown() throws IOException {
    listener.close();
    Files.deleteIfExists(cwdFile());
  }

  private static Path cwdFile() {
    return Path.of("target", "hostile-node-file.txt").toAbsolutePath();
  }

  /** Runs the hostile model in a sandbox with this isolation; its attempts, by name: "SUCCEEDED|DENIED\tdetail". */
  private static Map<String, String> attack(SandboxIsolation isolation, String name, Path hostTmp) throws Exception {
    Path dir = sandboxes.resolve(name).resolve("v1");
    SandboxProcess.LaunchSpec base = settings.launchSpec(dir);
    List<String> jvm = new ArrayList<>(base.jvmOptions());
    jvm.add("-Daimos.sandbox.extra-runtime=" + HostileRuntime.NAME + "=" + HostileRuntime.class.getName());
    SandboxProcess.LaunchSpec spec = new SandboxProcess.LaunchSpec(base.javaCommand(), jvm, base.classpath(), dir,
        base.environment());
    String id = "hostile-" + ProcessHandle.current().pid() + "-" + name;
    List<String> wrapper = isolation.prepare(id, spec, HostileRuntime.NAME);
    SandboxProcess p = SandboxProcess.start(spec, wrapper,
        isolation.containment().kind() != SandboxContainment.Kind.NONE, HostileRuntime.NAME, 1,
        settings.maxReplyBytes());
    try {
      p.ping(Duration.ofSeconds(60)).get();
      String prompt = String.join("\n", "nodePid=" + ProcessHandle.current().pid(), "secretName=" + SECRET,
          "nodeFile=" + nodeDir.resolve("cassandra/data/journal-Data.db"), "nodeDir=" + nodeDir,
          "cwdFile=" + cwdFile(), "otherDir=" + sandboxes.resolve("other/v1"), "port=" + listener.getLocalPort(),
          "hostTmp=" + hostTmp);
      var reply = p.call(SandboxRequest.newBuilder().setText(TextJob.newBuilder().setPrompt(prompt)),
          Duration.ofSeconds(120)).get(150, TimeUnit.SECONDS);
      assertTrue(reply.hasText(), reply.toString());
      Map<String, String> results = new LinkedHashMap<>();
      for (String line : reply.getText().getCompletion().split("\n")) {
        String[] f = line.split("\t", 2);
        results.put(f[0], f[1]);
      }
      if (isolation.containment().ownPidNamespace()) {
        // the node kills the sandbox as a whole: nothing of its pid namespace outlives it
        Path ns = Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "ns", "pid"));
        assertFalse(inNamespace(ns).isEmpty(), "the sandbox's processes are found by their namespace");
        p.kill("test over");
        p.onExit().get(10, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!inNamespace(ns).isEmpty() && System.nanoTime() < deadline) {
          Thread.onSpinWait();
        }
        assertEquals(List.of(), inNamespace(ns), "processes left in the killed sandbox's pid namespace");
      }
      return results;
    } finally {
      p.kill("test over");
      p.onExit().get(10, TimeUnit.SECONDS);
      isolation.release(id);
    }
  }

  @Test
  void everyEscapeOfAHostileModelFailsInAContainedSandbox() throws Exception {
    SandboxIsolation isolation = settings.isolation();
    assumeTrue(isolation.containment().kind() == SandboxContainment.Kind.JAIL || !onPath("gcc"),
        "gcc is here: the launcher must work (see the node's log for why not)");
    assertEquals(SandboxContainment.Kind.JAIL, isolation.containment().kind(), isolation.describe());
    Path hostTmp = Path.of("/tmp", "aimos-hostile-" + UUID.randomUUID());
    Map<String, String> results = attack(isolation, "hostile", hostTmp);
    StringBuilder table = new StringBuilder("| attempt | result |\n| --- | --- |\n");
    List<String> escaped = new ArrayList<>();
    for (var e : results.entrySet()) {
      String result = e.getValue();
      if (e.getKey().startsWith("write a file into the host's /tmp")) {
        // the sandbox has a /tmp of its own: what counts is whether the host's has the file
        result = Files.exists(hostTmp) ? "SUCCEEDED\tthe host's /tmp has the file"
            : "DENIED\tthe write went to the sandbox's private /tmp; the host's has no such file";
      }
      if (e.getKey().equals("leave a process running")) {
        result = "DENIED\tit died with the sandbox: no process of its pid namespace outlived the node's kill";
      }
      table.append("| ").append(e.getKey()).append(" | ").append(result.replace("\t", ": ").replace("|", "/"))
          .append(" |\n");
      if (!result.startsWith("DENIED")) {
        escaped.add(e.getKey() + " -> " + result);
      }
    }
    Path report = Path.of("target", "hostile-model-attempts.md");
    Files.writeString(report, table);
    System.out.println(table);
    assertEquals(18, results.size(), results.toString());
    assertTrue(escaped.isEmpty(), "escapes: " + escaped + "\n" + table);
    assertFalse(Files.exists(nodeDir.resolve("planted")));
    assertEquals(0, connections.get(), "connections the sandbox opened to the node's listener");
    assertTrue(results.get("fork-bomb (start processes until refused)").contains("refused after"),
        results.toString());
    // the node is unaffected by the bomb: it still starts processes
    assertEquals(0, new ProcessBuilder("true").start().waitFor());
  }

  @Test
  void theSameHostileModelUncontainedReadsTheNodesFiles() throws Exception {
    SandboxIsolation isolation = settings.isolation().withContainment(SandboxContainment.off());
    Path hostTmp = Path.of("/tmp", "aimos-hostile-" + UUID.randomUUID());
    try {
      Map<String, String> results = attack(isolation, "control", hostTmp);
      assertTrue(results.get("read a file in the node's data dir (Cassandra data stand-in)").startsWith("SUCCEEDED"),
          results.toString());
      assertTrue(results.get("read the node's environment via /proc/<node pid>/environ").startsWith("SUCCEEDED"),
          results.toString());
      assertTrue(results.get("read another sandbox's file").startsWith("SUCCEEDED"), results.toString());
      assertTrue(Files.exists(hostTmp), "an uncontained sandbox writes the host's /tmp");
    } finally {
      Files.deleteIfExists(hostTmp);
    }
  }

  /** The pids of the processes in a pid namespace, by its link ({@code pid:[inode]}). */
  private static List<Long> inNamespace(Path ns) {
    return ProcessHandle.allProcesses().filter(h -> {
      try {
        return Files.readSymbolicLink(Path.of("/proc", Long.toString(h.pid()), "ns", "pid")).equals(ns);
      } catch (IOException | RuntimeException e) {
        return false;
      }
    }).map(ProcessHandle::pid).toList();
  }

  private static boolean onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
