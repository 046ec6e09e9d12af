package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A hostile model ({@link EscapeProbe}) in a real contained sandbox process tries every way out it knows; each
 * attempt must fail. The same model without containment gets out, so the test can fail; and the drill that runs it on
 * a node ({@link ContainmentDrill}) fails on a node whose containment is off or degraded, saying why.
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
    ContainmentDrill.countConnections(listener, connections, "hostile-listener");
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

  /** Runs the hostile model in a sandbox with this isolation, aimed at this test's stand-ins. */
  private static ContainmentDrill.Report attack(SandboxIsolation isolation, String name, Path hostTmp,
                                                Path systemFile) throws Exception {
    Path dir = sandboxes.resolve(name).resolve("v1");
    var targets = new ContainmentDrill.Targets(ProcessHandle.current().pid(), SECRET, nodeDir,
        nodeDir.resolve("cassandra/data/journal-Data.db"), cwdFile(), sandboxes.resolve("other/v1"),
        listener.getLocalPort(), hostTmp, systemFile, true, Map.of());
    return ContainmentDrill.attack(settings, isolation, dir, "hostile-" + ProcessHandle.current().pid() + "-" + name,
        targets, connections::get);
  }

  private static Map<String, ContainmentDrill.Attempt> byName(ContainmentDrill.Report report) {
    return report.attempts().stream().collect(Collectors.toMap(ContainmentDrill.Attempt::attempt,
        Function.identity()));
  }

  @Test
  void everyEscapeOfAHostileModelFailsInAContainedSandbox() throws Exception {
    SandboxIsolation isolation = settings.isolation();
    assumeTrue(isolation.containment().kind() == SandboxContainment.Kind.JAIL || !onPath("gcc"),
        "gcc is here: the launcher must work (see the node's log for why not)");
    assertEquals(SandboxContainment.Kind.JAIL, isolation.containment().kind(), isolation.describe());
    Path hostTmp = Path.of("/tmp", "aimos-hostile-" + UUID.randomUUID());
    Path systemFile = Path.of("/usr/lib", "aimos-hostile-" + UUID.randomUUID());
    try {
      ContainmentDrill.Report report = attack(isolation, "hostile", hostTmp, systemFile);
      Files.writeString(Path.of("target", "hostile-model-attempts.md"), report.table());
      System.out.println(report.table());
      assertEquals(EscapeProbe.ATTEMPTS, report.attempts().stream().map(ContainmentDrill.Attempt::attempt).toList());
      assertEquals(19, report.attempts().size());
      assertTrue(report.passed(), "escapes: " + report.failures() + "\n" + report.table());
      assertEquals(19, report.denied());
      assertFalse(Files.exists(nodeDir.resolve("planted")));
      assertFalse(Files.exists(hostTmp));
      assertFalse(Files.exists(systemFile));
      assertEquals(0, connections.get(), "connections the sandbox opened to the node's listener");
      assertTrue(byName(report).get("fork-bomb (start processes until refused)").detail().contains("refused after"),
          report.table());
      assertTrue(byName(report).get("leave a process running").detail().contains("no process of its pid namespace"),
          report.table());
      // the node is unaffected by the bomb: it still starts processes
      assertEquals(0, new ProcessBuilder("true").start().waitFor());
    } finally {
      Files.deleteIfExists(hostTmp);
      Files.deleteIfExists(systemFile);
    }
  }

  /**
   * The hostile model as an upstream runtime: IP sockets allowed by its filter, a network namespace of its own whose
   * only way out is the node's egress relay, which reaches its provider (a listener standing in for it) and nothing
   * else, the node's loopback listener included.
   */
  @Test
  void anUpstreamSandboxReachesItsProviderAndNothingElse() throws Exception {
    assumeTrue(settings.isolation().containment().kind() == SandboxContainment.Kind.JAIL || !onPath("gcc"),
        "gcc is here: the launcher must work (see the node's log for why not)");
    try (ServerSocket provider = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      AtomicInteger reached = new AtomicInteger();
      ContainmentDrill.countConnections(provider, reached, "hostile-provider");
      SandboxSettings upstream = settings.withUpstreams(Map.of("hostile", new aimos.model.runtime.OpenAiUpstreamRuntime
          .Provider("hostile", "http://127.0.0.1:" + provider.getLocalPort() + "/v1", "sk-own-key",
          java.time.Duration.ofSeconds(5), 0))).forRuntime("openai:hostile/m");
      SandboxIsolation isolation = upstream.isolation();
      assertTrue(isolation.relayedEgress(), isolation.describe());
      assertTrue(isolation.describe().contains("network only 127.0.0.1 through the node's egress relay"),
          isolation.describe());
      Path hostTmp = Path.of("/tmp", "aimos-hostile-" + UUID.randomUUID());
      Path systemFile = Path.of("/usr/lib", "aimos-hostile-" + UUID.randomUUID());
      int before = connections.get();
      try {
        Path dir = sandboxes.resolve("hostile-upstream").resolve("v1");
        var targets = new ContainmentDrill.Targets(ProcessHandle.current().pid(), SECRET, nodeDir,
            nodeDir.resolve("cassandra/data/journal-Data.db"), cwdFile(), sandboxes.resolve("other/v1"),
            listener.getLocalPort(), hostTmp, systemFile, true, Map.of());
        ContainmentDrill.Report report = ContainmentDrill.attack(upstream, isolation, dir,
            "hostile-up-" + ProcessHandle.current().pid(), targets, () -> connections.get() - before);
        Files.writeString(Path.of("target", "hostile-upstream-model-attempts.md"), report.table());
        assertTrue(report.passed(), "escapes: " + report.failures() + "\n" + report.table());
        assertEquals(19, report.denied(), report.table());
        var results = byName(report);
        String direct = results.get("open a TCP socket to the node's 127.0.0.1 listener").detail();
        assertTrue(direct.contains("Connection refused"), "its own loopback, not the node's: " + direct);
        String relayed = results.get("reach the node's 127.0.0.1 listener through the egress relay").detail();
        assertTrue(relayed.startsWith("the relay answered HTTP/1.1 403 Forbidden; its provider 127.0.0.1:"
            + provider.getLocalPort() + ": HTTP/1.1 200 Connection established"), relayed);
        assertEquals(before, connections.get(), "connections the sandbox opened to the node's listener");
        assertTrue(reached.get() >= 1, "the provider was reached through the relay");
        try (Stream<Path> left = Files.list(dir)) {
          assertEquals(List.of(), left.filter(p -> p.getFileName().toString().endsWith(".sock")).toList(),
              "the relay's socket goes with the sandbox");
        }
      } finally {
        Files.deleteIfExists(hostTmp);
        Files.deleteIfExists(systemFile);
      }
    }
  }

  /**
   * What the kernel says of a running contained sandbox JVM, read from the host: its own uid (as root: the dedicated
   * one), no_new_privs, a seccomp filter, and its own pid, mount, network, ipc and uts namespaces.
   */
  @Test
  void theKernelShowsTheSandboxUnderItsOwnUidFilterAndNamespaces() throws Exception {
    SandboxIsolation isolation = settings.isolation();
    assumeTrue(isolation.containment().kind() == SandboxContainment.Kind.JAIL || !onPath("gcc"),
        "gcc is here: the launcher must work (see the node's log for why not)");
    assertEquals(SandboxContainment.Kind.JAIL, isolation.containment().kind(), isolation.describe());
    Path dir = sandboxes.resolve("kernel-view").resolve("v1");
    String id = "kernel-view-" + ProcessHandle.current().pid();
    try (SandboxIsolation.Launch launch = isolation.launch(id, settings.launchSpec(dir), "echo-text")) {
      SandboxProcess p = launch.started(SandboxProcess.start(launch.spec(), launch.wrapper(), true, "echo-text", 1,
          settings.maxReplyBytes()));
      try {
        p.ping(java.time.Duration.ofSeconds(60)).get();
        Map<String, String> status = new java.util.HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p.pid()), "status"))) {
          int colon = line.indexOf(':');
          status.put(line.substring(0, colon), line.substring(colon + 1).strip());
        }
        // as root: the configured uid (65534 by default); otherwise the node's own, inside a user namespace
        String nodeUid = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Uid:"))
            .findFirst().orElseThrow().split("\\s+")[1];
        String expectedUid = isolation.containment().sharedUid()
            ? Long.toString(SandboxContainment.Settings.defaults(SandboxContainment.Mode.AUTO).uid()) : nodeUid;
        assertEquals(expectedUid, status.get("Uid").split("\\s+")[1], status.toString());
        assertEquals("1", status.get("NoNewPrivs"), status.toString());
        assertEquals("2", status.get("Seccomp"), "filter mode: " + status);
        assertEquals("0000000000000000", status.get("CapEff"), "no capabilities: " + status);
        for (String ns : List.of("pid", "mnt", "net", "ipc", "uts")) {
          assertFalse(Files.readSymbolicLink(Path.of("/proc/self/ns", ns)).equals(
              Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "ns", ns))), ns + " namespace shared");
        }
      } finally {
        p.kill("test over");
        p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        isolation.release(id);
      }
    }
  }

  @Test
  void theSameHostileModelUncontainedReadsTheNodesFiles() throws Exception {
    SandboxIsolation isolation = settings.isolation().withContainment(SandboxContainment.off());
    Path hostTmp = Path.of("/tmp", "aimos-hostile-" + UUID.randomUUID());
    Path systemFile = Path.of("/usr/lib", "aimos-hostile-" + UUID.randomUUID());
    try {
      var results = byName(attack(isolation, "control", hostTmp, systemFile));
      assertEquals(EscapeProbe.SUCCEEDED,
          results.get("read a file in the node's data dir (Cassandra data stand-in)").result(), results.toString());
      assertEquals(EscapeProbe.SUCCEEDED,
          results.get("read the node's environment via /proc/<node pid>/environ").result(), results.toString());
      assertEquals(EscapeProbe.SUCCEEDED, results.get("read another sandbox's file").result(), results.toString());
      assertEquals(EscapeProbe.SUCCEEDED, results.get("write a file into the host's /tmp").result(),
          results.toString());
      assertEquals(EscapeProbe.SUCCEEDED, results.get("leave a process running").result(), results.toString());
      assertTrue(Files.exists(hostTmp), "an uncontained sandbox writes the host's /tmp");
      // what was read is never in the report: only that it was reached
      assertFalse(results.toString().contains("tenant rows") || results.toString().contains("another model's data")
          || results.toString().contains(System.getenv(SECRET)), results.toString());
    } finally {
      Files.deleteIfExists(hostTmp);
      Files.deleteIfExists(systemFile);
      // what it planted in the node's data dir, which the contained runs must find empty
      Files.deleteIfExists(nodeDir.resolve("planted"));
    }
  }

  /**
   * The drill as a node runs it, on a node whose containment is off: it still lists every attempt (several get out)
   * and fails, saying first that containment is off; its canaries and sandbox dir are gone afterwards.
   */
  @Test
  void theDrillFailsOnANodeWithContainmentOff() throws Exception {
    SandboxSettings off = settings.withIsolation(settings.isolation().withContainment(SandboxContainment.off()));
    String run = "off-" + ProcessHandle.current().pid();
    ContainmentDrill.Report report = ContainmentDrill.run(off, run);
    assertFalse(report.passed(), report.table());
    assertEquals("NONE", report.kind());
    assertTrue(report.failures().get(0).startsWith("sandbox containment is off on this node"), report.failures()
        .toString());
    assertTrue(report.failures().get(0).contains("AIMOS_SANDBOX_CONTAINMENT"), report.failures().toString());
    assertEquals(ContainmentDrill.ATTEMPTS, report.attempts().stream().map(ContainmentDrill.Attempt::attempt)
        .toList());
    var results = byName(report);
    assertEquals(EscapeProbe.SUCCEEDED, results.get(ContainmentDrill.UPSTREAM + "open a TCP socket to the node's "
        + "127.0.0.1 listener").result(), "uncontained, an upstream sandbox has the host's network: " + report.table());
    assertEquals(EscapeProbe.SUCCEEDED, results.get("read the node's environment via /proc/<node pid>/environ")
        .result(), report.table());
    assertEquals(EscapeProbe.SUCCEEDED, results.get("list another sandbox's work dir").result(), report.table());
    assertEquals(EscapeProbe.SUCCEEDED, results.get("read a file in the node's working dir").result(),
        report.table());
    assertTrue(report.failures().stream().anyMatch(f -> f.startsWith("read another sandbox's file: SUCCEEDED")),
        report.failures().toString());
    assertFalse(Files.exists(sandboxes.resolve(".drills").resolve(run)), "the drill's sandbox dir is removed");
    try (Stream<Path> cwd = Files.list(Path.of("").toAbsolutePath())) {
      assertEquals(List.of(), cwd.filter(p -> p.getFileName().toString().startsWith(".aimos-drill-" + run)).toList(),
          "the drill's canaries are removed");
    }
    assertFalse(report.toMap().toString().contains(System.getenv(SECRET)), "no secret in the report");
  }

  /** The verdict alone: containment short of aimos-jail fails even when every attempt was denied. */
  @Test
  void aDegradedOrLeakyNodeFailsTheDrillAndSaysWhy() {
    List<ContainmentDrill.Attempt> allDenied = EscapeProbe.ATTEMPTS.stream()
        .map(a -> new ContainmentDrill.Attempt(a, EscapeProbe.DENIED, "denied")).toList();
    var util = new SandboxContainment(SandboxContainment.Settings.defaults(SandboxContainment.Mode.AUTO),
        SandboxContainment.Kind.UTIL_LINUX, null, true, "aimos-jail cannot be used (gcc is missing), so sandboxes "
        + "lack a dedicated uid");
    var degraded = ContainmentDrill.judge(util, settings.isolation().withContainment(util), allDenied);
    assertFalse(degraded.passed());
    assertEquals(List.of("containment is degraded to util-linux (pid, ipc and uts namespaces, no_new_privs): "
        + "aimos-jail cannot be used (gcc is missing), so sandboxes lack a dedicated uid"), degraded.failures());

    var jail = new SandboxContainment(SandboxContainment.Settings.defaults(SandboxContainment.Mode.REQUIRED),
        SandboxContainment.Kind.JAIL, Path.of("/nonexistent/aimos-jail"), true, "");
    assertTrue(ContainmentDrill.judge(jail, settings.isolation().withContainment(jail), allDenied).passed());
    var leaky = new java.util.ArrayList<>(allDenied);
    leaky.set(3, new ContainmentDrill.Attempt(EscapeProbe.ATTEMPTS.get(3), EscapeProbe.SUCCEEDED, "read 16 bytes"));
    leaky.set(16, new ContainmentDrill.Attempt(EscapeProbe.ATTEMPTS.get(16), EscapeProbe.NOT_TRIED, "no cgroup"));
    var failed = ContainmentDrill.judge(jail, settings.isolation().withContainment(jail), leaky);
    assertEquals(List.of("read the node's memory via /proc/<node pid>/mem: SUCCEEDED (read 16 bytes)",
        "fork-bomb (start processes until refused): NOT_TRIED (no cgroup)"), failed.failures());
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
