package aimos.model.sandbox;

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
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Proves a node's sandbox containment: runs {@link EscapeProbe} in a real sandbox made exactly as the node makes its
 * models' sandboxes (its launch settings, caps, containment and allow-listed environment), aims it at canaries that
 * stand for what a model must not reach, checks on the host side what the probe cannot judge from inside (whether a
 * write landed in the host's /tmp, whether its process outlived the sandbox, whether the node's listener saw a
 * connection), and passes only when the node contains its sandboxes with every layer ({@code aimos-jail}) and every
 * attempt was denied.
 *
 * <p>The probe's sandbox has a work dir, cgroup and canaries of its own (under {@code <work-dir>/.drills/<run>}, the
 * node's working dir and the host's /tmp), all removed afterwards; no other sandbox is touched. The fork bomb is set
 * off only where the sandbox gets a pids cgroup of its own: elsewhere the process cap is an rlimit counted per uid,
 * which other sandboxes (or the node) share.
 */
public final class ContainmentDrill {
  /** How the attempts of the probe's second pass, as an upstream sandbox, are named in the report. */
  public static final String UPSTREAM = "as an upstream sandbox: ";
  private static final String DRILL_PROVIDER = "drill-provider";

  /** The attempts of a drill, in the order of its report: the probe as a local model, then as an upstream one. */
  public static final List<String> ATTEMPTS = Stream.concat(EscapeProbe.ATTEMPTS.stream(),
      EscapeProbe.ATTEMPTS.stream().map(a -> UPSTREAM + a)).toList();

  /** One attempt as the report shows it: result is DENIED, SUCCEEDED or NOT_TRIED. */
  public record Attempt(String attempt, String result, String detail) {
    public boolean denied() {
      return result.equals(EscapeProbe.DENIED);
    }
  }

  /** What the probe aims at; null paths are not tried, with {@code notTried} saying why. */
  public record Targets(long nodePid, String secretName, Path nodeDir, Path nodeFile, Path cwdFile, Path otherDir,
                        int port, Path hostTmp, Path systemFile, boolean forkBomb, Map<String, String> notTried) {
    String prompt() {
      return String.join("\n", "nodePid=" + nodePid, "secretName=" + secretName, "nodeFile=" + nodeFile,
          "nodeDir=" + nodeDir, "cwdFile=" + (cwdFile == null ? "" : cwdFile), "otherDir=" + otherDir, "port=" + port,
          "hostTmp=" + hostTmp, "systemFile=" + systemFile, "forkBomb=" + (forkBomb ? "yes" : "no"));
    }
  }

  /**
   * The drill's outcome: how the node contains sandboxes, each attempt, and why it failed (empty when it passed).
   *
   * @param kind     the containment the node applies (JAIL, UTIL_LINUX, NONE)
   * @param layers   what that containment gives a sandbox, in words
   * @param missing  what is short of every layer, and how to fix it ("" when nothing)
   * @param isolation the caps and containment of the probe's sandbox, as the node logs them
   */
  public record Report(String mode, String kind, String layers, String missing, String isolation,
                       List<Attempt> attempts, List<String> failures) {
    public boolean passed() {
      return failures.isEmpty();
    }

    public long denied() {
      return attempts.stream().filter(Attempt::denied).count();
    }

    /** The attempts as a Markdown table. */
    public String table() {
      StringBuilder t = new StringBuilder("| attempt | result | detail |\n| --- | --- | --- |\n");
      for (Attempt a : attempts) {
        t.append("| ").append(cell(a.attempt())).append(" | ").append(a.result()).append(" | ")
            .append(cell(a.detail())).append(" |\n");
      }
      return t.toString();
    }

    private static String cell(String s) {
      return s.replace("|", "/").replace("\n", " ");
    }

    public Map<String, Object> toMap() {
      Map<String, Object> containment = new LinkedHashMap<>();
      containment.put("mode", mode);
      containment.put("kind", kind);
      containment.put("layers", layers);
      containment.put("missing", missing);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("containment", containment);
      m.put("isolation", isolation);
      m.put("attempts", attempts.stream().map(a -> {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("attempt", a.attempt());
        row.put("result", a.result());
        row.put("detail", a.detail());
        return row;
      }).toList());
      m.put("failures", failures);
      return m;
    }
  }

  private ContainmentDrill() {}

  /**
   * Runs the drill on this node with the node's own sandbox settings; {@code runId} (letters, digits, '-') names its
   * sandbox, cgroup and canaries.
   */
  public static Report run(SandboxSettings nodeSettings, String runId) throws IOException, InterruptedException {
    if (!runId.matches("[a-z0-9-]{1,64}")) {
      throw new IllegalArgumentException("a drill run id is 1-64 lower-case letters, digits and '-', was " + runId);
    }
    SandboxSettings settings = nodeSettings.forRuntime(EscapeProbe.NAME);
    SandboxIsolation isolation = settings.isolation();
    Path base = settings.workDir().toAbsolutePath().normalize().resolve(".drills").resolve(runId);
    Path probeDir = base.resolve("probe").resolve("v1");
    Path otherDir = base.resolve("other").resolve("v1");
    Path cwd = Path.of("").toAbsolutePath();
    List<Path> cleanUp = new ArrayList<>(List.of(base));
    Map<String, String> notTried = new LinkedHashMap<>();
    try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Files.createDirectories(otherDir);
      Files.writeString(otherDir.resolve("secret.txt"), "another model's data (drill canary)");
      // the node's data: a stand-in in its working dir, else in its temp dir; the node's own file: a canary there too
      Path nodeDir;
      Path cwdFile = null;
      Path canaryRoot = cwd.resolve(".aimos-drill-" + runId);
      try {
        Files.createDirectories(canaryRoot);
        cleanUp.add(canaryRoot);
        nodeDir = canaryRoot.resolve("cassandra").resolve("data");
        cwdFile = cwd.resolve(".aimos-drill-" + runId + ".txt");
        cleanUp.add(cwdFile);
        Files.writeString(cwdFile, "the node's working dir (drill canary)");
      } catch (IOException e) {
        Path tmp = Files.createTempDirectory("aimos-drill-node-");
        cleanUp.add(tmp);
        nodeDir = tmp.resolve("cassandra").resolve("data");
        cwdFile = firstFile(cwd).orElse(null);
        if (cwdFile == null) {
          notTried.put("read a file in the node's working dir", "the node's working dir " + cwd + " is not "
              + "writable and holds no file to aim at");
        }
      }
      Files.createDirectories(nodeDir);
      Files.writeString(nodeDir.resolve("journal-Data.db"), "tenant rows (drill canary)");
      Path hostTmp = Path.of("/tmp", "aimos-drill-" + runId + "-" + UUID.randomUUID());
      Path systemFile = Path.of("/usr/lib", "aimos-drill-" + runId + ".planted");
      cleanUp.add(hostTmp);
      cleanUp.add(systemFile);
      String secret = nodeVariable(SandboxEnvironment.of(System.getenv(), probeDir, settings.environment()).keySet());
      if (secret.isEmpty()) {
        notTried.put(EscapeProbe.ATTEMPTS.get(0), "the node's environment holds no variable that sandboxes lack");
        notTried.put(EscapeProbe.ATTEMPTS.get(1), "the node's environment holds no variable that sandboxes lack");
      }
      boolean bomb = isolation.cgroups() != SandboxIsolation.Cgroups.NONE;
      if (!bomb) {
        notTried.put("fork-bomb (start processes until refused)", "no writable cgroup on this node, so a sandbox's "
            + "process cap is an rlimit counted per uid, shared with other sandboxes (or the node): not set off; give "
            + "the node a writable cgroup v2 (or v1) subtree");
      }
      AtomicInteger connections = new AtomicInteger();
      countConnections(listener, connections, "drill-escape-listener");
      Targets targets = new Targets(ProcessHandle.current().pid(), secret, nodeDir,
          nodeDir.resolve("journal-Data.db"), cwdFile, otherDir, listener.getLocalPort(), hostTmp, systemFile, bomb,
          notTried);
      Report local = attack(settings, isolation, probeDir, "drill-" + runId, targets, connections::get);
      return withUpstreamPass(local, nodeSettings, base, runId, targets, connections);
    } finally {
      for (Path p : cleanUp) {
        delete(p);
      }
    }
  }

  /**
   * The same probe again as an upstream sandbox (IP sockets allowed by its filter, a network of its own whose only way
   * out is the node's egress relay), with a loopback listener of the drill's own standing in for its provider: every
   * attempt must be denied again, and the relay must reach that provider (else upstream models could not work and the
   * refusals would prove nothing).
   */
  private static Report withUpstreamPass(Report local, SandboxSettings nodeSettings, Path base, String runId,
                                         Targets targets, AtomicInteger connections)
      throws IOException, InterruptedException {
    try (ServerSocket provider = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      AtomicInteger reached = new AtomicInteger();
      countConnections(provider, reached, "drill-escape-provider");
      SandboxSettings upstream = nodeSettings.withUpstreams(Map.of(DRILL_PROVIDER,
          new aimos.model.runtime.OpenAiUpstreamRuntime.Provider(DRILL_PROVIDER, "http://127.0.0.1:"
              + provider.getLocalPort() + "/v1", "", Duration.ofSeconds(5), 0)))
          .forRuntime("openai:" + DRILL_PROVIDER + "/probe");
      int before = connections.get();
      Report up = attack(upstream, upstream.isolation(), base.resolve("probe-upstream").resolve("v1"),
          "drill-" + runId + "-up", targets, () -> connections.get() - before);
      List<Attempt> all = new ArrayList<>(local.attempts());
      up.attempts().forEach(a -> all.add(new Attempt(UPSTREAM + a.attempt(), a.result(), a.detail())));
      Report both = judge(upstream.isolation().containment(), nodeSettings.isolation(), all);
      if (upstream.isolation().relayedEgress() && reached.get() == 0) {
        List<String> failures = new ArrayList<>(both.failures());
        failures.add("the egress relay did not reach the drill's stand-in provider: upstream models could not call "
            + "theirs (see the node's log for 'Egress relay')");
        both = new Report(both.mode(), both.kind(), both.layers(), both.missing(), both.isolation(), both.attempts(),
            List.copyOf(failures));
      }
      return both;
    }
  }

  /**
   * Runs the probe in a sandbox of {@code isolation} at {@code dir} and judges it; {@code connections} counts what the
   * listener at {@code targets.port()} accepted. Kills the sandbox and releases its cgroup before it returns.
   */
  static Report attack(SandboxSettings settings, SandboxIsolation isolation, Path dir, String sandboxId,
                       Targets targets, IntSupplier connections) throws IOException, InterruptedException {
    SandboxContainment containment = isolation.containment();
    SandboxProcess.LaunchSpec spec = settings.launchSpec(dir);
    SandboxIsolation.Launch launch;
    try {
      launch = isolation.launch(sandboxId, spec, EscapeProbe.NAME);
    } catch (IOException e) {
      // mode required without every layer: no sandbox starts on this node, the probe's neither
      isolation.release(sandboxId);
      List<Attempt> none = EscapeProbe.ATTEMPTS.stream()
          .map(a -> new Attempt(a, EscapeProbe.NOT_TRIED, "no sandbox starts: " + e.getMessage())).toList();
      return judge(containment, isolation, none);
    }
    SandboxProcess p;
    try {
      p = launch.started(SandboxProcess.start(launch.spec(), launch.wrapper(),
          containment.kind() != SandboxContainment.Kind.NONE, EscapeProbe.class.getName(), EscapeProbe.NAME, 1,
          settings.maxReplyBytes()));
    } catch (IOException e) {
      launch.close();
      isolation.release(sandboxId);
      throw e;
    }
    List<Attempt> attempts = new ArrayList<>();
    try {
      Duration start = settings.startTimeout().compareTo(Duration.ofSeconds(60)) > 0 ? settings.startTimeout()
          : Duration.ofSeconds(60);
      p.ping(start).get(start.toSeconds() + 5, TimeUnit.SECONDS);
      var reply = p.call(SandboxRequest.newBuilder().setText(TextJob.newBuilder().setPrompt(targets.prompt())),
          Duration.ofSeconds(150)).get(160, TimeUnit.SECONDS);
      if (!reply.hasText()) {
        throw new IOException("the probe answered without its attempts: " + reply.getError().getMessage());
      }
      Map<String, String[]> answered = new LinkedHashMap<>();
      for (String line : reply.getText().getCompletion().split("\n")) {
        String[] f = line.split("\t", 3);
        answered.put(f[0], new String[] {f.length > 1 ? f[1] : "", f.length > 2 ? f[2] : ""});
      }
      Optional<Path> pidNamespace = containment.ownPidNamespace()
          ? Optional.of(Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "ns", "pid")))
          : Optional.empty();
      p.kill("drill over");
      p.onExit().get(10, TimeUnit.SECONDS);
      for (String name : EscapeProbe.ATTEMPTS) {
        String[] r = answered.getOrDefault(name, new String[] {EscapeProbe.NOT_TRIED, "the probe did not answer it"});
        Attempt a = new Attempt(name, r[0], r[1]);
        if (targets.notTried().containsKey(name)) {
          a = new Attempt(name, EscapeProbe.NOT_TRIED, targets.notTried().get(name));
        } else {
          a = onTheHost(a, targets, connections, pidNamespace);
        }
        attempts.add(a);
      }
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IOException("the probe's sandbox did not run it: " + e.getMessage() + " (see "
          + dir.resolve("sandbox.log") + ")", e);
    } finally {
      p.kill("drill over");
      try {
        p.onExit().get(10, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        // the release below is retried by nobody: the cgroup stays empty
      }
      launch.close();
      isolation.release(sandboxId);
    }
    return judge(containment, isolation, attempts);
  }

  private static final Pattern LEFT_PID = Pattern.compile("^pid (\\d+) left running");

  /** What only the host can see: where a write landed, whether a connection arrived, what outlived the sandbox. */
  private static Attempt onTheHost(Attempt a, Targets targets, IntSupplier connections,
                                   Optional<Path> pidNamespace) throws InterruptedException {
    String name = a.attempt();
    switch (name) {
      case "open a TCP socket to the node's 127.0.0.1 listener",
          "reach the node's 127.0.0.1 listener through the egress relay" -> {
        int seen = connections.getAsInt();
        return seen > 0 ? new Attempt(name, EscapeProbe.SUCCEEDED, "the node's listener accepted " + seen
            + " connection(s)") : a;
      }
      case "write a file into the host's /tmp" -> {
        return planted(a, targets.hostTmp(), "the write went to the sandbox's private /tmp; the host's has no such "
            + "file");
      }
      case "write a file into the node's data dir" -> {
        return planted(a, targets.nodeDir().resolve("planted"), "the node's data dir has no such file");
      }
      case "write a file into /usr/lib" -> {
        return planted(a, targets.systemFile(), "the host's /usr/lib has no such file");
      }
      case "leave a process running" -> {
        if (pidNamespace.isPresent()) {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
          List<Long> left = inNamespace(pidNamespace.get());
          while (!left.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            left = inNamespace(pidNamespace.get());
          }
          return left.isEmpty() ? new Attempt(name, EscapeProbe.DENIED, "it died with the sandbox: no process of its "
              + "pid namespace outlived the node's kill") : new Attempt(name, EscapeProbe.SUCCEEDED, "pids " + left
              + " of the sandbox's pid namespace outlived the node's kill");
        }
        Matcher m = LEFT_PID.matcher(a.detail());
        Optional<ProcessHandle> left = m.find() ? ProcessHandle.of(Long.parseLong(m.group(1)))
            .filter(h -> h.isAlive() && h.info().command().map(c -> c.endsWith("sleep")).orElse(false))
            : Optional.empty();
        if (left.isPresent()) {
          left.get().destroyForcibly();
          return new Attempt(name, EscapeProbe.SUCCEEDED, "pid " + left.get().pid() + " outlived the sandbox (no pid "
              + "namespace); the drill killed it");
        }
        return new Attempt(name, a.result(), a.detail().isEmpty() ? "no process of it is left" : a.detail());
      }
      default -> {
        return a;
      }
    }
  }

  private static Attempt planted(Attempt a, Path onHost, String deniedDetail) {
    if (Files.exists(onHost)) {
      return new Attempt(a.attempt(), EscapeProbe.SUCCEEDED, "the host has " + onHost);
    }
    return a.result().equals(EscapeProbe.SUCCEEDED) ? new Attempt(a.attempt(), EscapeProbe.DENIED, deniedDetail) : a;
  }

  /** Passed only with every layer (aimos-jail) and every attempt denied; otherwise each reason, worded for secops. */
  static Report judge(SandboxContainment c, SandboxIsolation isolation, List<Attempt> attempts) {
    List<String> failures = new ArrayList<>();
    if (c.mode() == SandboxContainment.Mode.OFF) {
      failures.add("sandbox containment is off on this node (aimos.sandbox.containment.mode, env "
          + "AIMOS_SANDBOX_CONTAINMENT): sandboxes run as the node's user and see its files, processes and "
          + "environment; set it to auto or required");
    } else if (c.kind() == SandboxContainment.Kind.NONE) {
      failures.add("no containment layer applies on this node: " + c.missing());
    } else if (c.kind() == SandboxContainment.Kind.UTIL_LINUX) {
      failures.add("containment is degraded to util-linux (pid, ipc and uts namespaces, no_new_privs): " + c.missing());
    }
    for (Attempt a : attempts) {
      if (!a.denied()) {
        failures.add(a.attempt() + ": " + a.result() + (a.detail().isEmpty() ? "" : " (" + a.detail() + ")"));
      }
    }
    return new Report(c.mode().name().toLowerCase(), c.kind().name(), c.describe(), c.missing(), isolation.describe(),
        List.copyOf(attempts), List.copyOf(failures));
  }

  /**
   * A variable of the node's environment that sandboxes do not get, by name: the node's tokens first. Only its name
   * travels to the probe and into the report.
   */
  static String nodeVariable(Set<String> sandboxGets) {
    Map<String, String> env = System.getenv();
    for (String preferred : List.of("AIMOS_SECOPS_TOKEN", "AIMOS_ADMIN_TOKEN")) {
      if (env.containsKey(preferred)) {
        return preferred;
      }
    }
    return env.keySet().stream().filter(n -> !sandboxGets.contains(n) && n.matches("[A-Za-z_][A-Za-z0-9_]*"))
        .sorted(Comparator.comparing((String n) -> !n.startsWith("AIMOS_")).thenComparing(n -> n))
        .findFirst().orElse("");
  }

  private static Optional<Path> firstFile(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> Files.isRegularFile(f) && Files.isReadable(f)).sorted().findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The pids of the processes in a pid namespace, by its link ({@code pid:[inode]}). */
  static List<Long> inNamespace(Path ns) {
    return ProcessHandle.allProcesses().filter(h -> {
      try {
        return Files.readSymbolicLink(Path.of("/proc", Long.toString(h.pid()), "ns", "pid")).equals(ns);
      } catch (IOException | RuntimeException e) {
        return false;
      }
    }).map(ProcessHandle::pid).toList();
  }

  private static void delete(Path p) {
    if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> all = Files.walk(p)) {
      all.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // left for the operator: the report's paths name it
    }
  }

  /** Counts on a daemon thread the connections {@code listener} accepts (each closed at once) until it closes. */
  static void countConnections(ServerSocket listener, AtomicInteger connections, String threadName) {
    Thread accept = new Thread(() -> {
      while (!listener.isClosed()) {
        try (Socket s = listener.accept()) {
          connections.incrementAndGet();
        } catch (IOException e) {
          return;
        }
      }
    }, threadName);
    accept.setDaemon(true);
    accept.start();
  }
}
