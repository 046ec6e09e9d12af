package aimos.model.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operating-system caps around each sandbox process, applied with what this host allows: a cgroup (v2, else v1)
 * for memory, CPU and process count; {@code prlimit} for open files and processes; {@code unshare -n} for a network
 * namespace with no interfaces up. What the host lacks is logged once, and the JVM's own heap cap still applies.
 */
public final class SandboxIsolation {
  private static final Logger log = LoggerFactory.getLogger(SandboxIsolation.class);

  /** The caps of one sandbox. */
  public record Limits(int memoryMb, double cpus, int maxProcesses, int maxOpenFiles, boolean noNetwork) {
    public Limits {
      if (memoryMb < 64) {
        throw new IllegalArgumentException("sandbox memory must be at least 64 MB, was " + memoryMb);
      }
      if (cpus <= 0) {
        throw new IllegalArgumentException("sandbox cpus must be positive, was " + cpus);
      }
    }
  }

  public enum Cgroups { V2, V1, NONE }

  private final Limits limits;
  private final Cgroups cgroups;
  /** v2: the directory under which sandbox groups go; v1: one directory per controller (memory, cpu, pids). */
  private final List<Path> roots;
  private final boolean prlimit;
  private final boolean unshare;
  private final SandboxContainment containment;
  /** The one server a sandbox with network may reach (its provider), or null. */
  private final java.net.URI egress;

  SandboxIsolation(Limits limits, Cgroups cgroups, List<Path> roots, boolean prlimit, boolean unshare) {
    this(limits, cgroups, roots, prlimit, unshare, SandboxContainment.off());
  }

  SandboxIsolation(Limits limits, Cgroups cgroups, List<Path> roots, boolean prlimit, boolean unshare,
                   SandboxContainment containment) {
    this(limits, cgroups, roots, prlimit, unshare, containment, null);
  }

  private SandboxIsolation(Limits limits, Cgroups cgroups, List<Path> roots, boolean prlimit, boolean unshare,
                           SandboxContainment containment, java.net.URI egress) {
    this.limits = limits;
    this.cgroups = cgroups;
    this.roots = roots;
    this.prlimit = prlimit;
    this.unshare = unshare;
    this.containment = containment;
    this.egress = egress;
  }

  /** Finds out once what this host allows, with containment as {@code auto} finds it. */
  public static SandboxIsolation probe(Limits limits) {
    return probe(limits, SandboxContainment.Settings.defaults(SandboxContainment.Mode.AUTO));
  }

  /** Finds out once what this host allows, and says what it cannot enforce. */
  public static SandboxIsolation probe(Limits limits, SandboxContainment.Settings containment) {
    return probe(limits, SandboxContainment.probe(containment));
  }

  /** Finds out once what this host allows for these caps, inside the given containment. */
  public static SandboxIsolation probe(Limits limits, SandboxContainment containment) {
    Cgroups mode = Cgroups.NONE;
    List<Path> roots = List.of();
    Path v2 = writableV2();
    if (v2 != null) {
      mode = Cgroups.V2;
      roots = List.of(v2);
    } else {
      List<Path> v1 = writableV1();
      if (!v1.isEmpty()) {
        mode = Cgroups.V1;
        roots = v1;
      }
    }
    boolean prlimit = runs("prlimit", "--version");
    boolean unshare = limits.noNetwork() && runs("unshare", "-n", "true");
    SandboxIsolation iso = new SandboxIsolation(limits, mode, roots, prlimit, unshare, containment);
    if (mode == Cgroups.NONE) {
      log.warn("Sandboxes: no writable cgroup (v2 or v1) on this host, so memory, CPU and process-count caps fall "
          + "back to the JVM heap limit and rlimits");
    }
    if (!prlimit) {
      log.warn("Sandboxes: 'prlimit' is missing (util-linux), so open-file and process rlimits are not set");
    }
    if (limits.noNetwork() && !unshare && !containment.ownNetwork()) {
      log.warn("Sandboxes: 'unshare -n' does not work here (needs root or user namespaces), so sandboxes keep the "
          + "host network");
    }
    log.info("Sandboxes isolated with: {}", iso.describe());
    return iso;
  }

  /** The same isolation with at least {@code memoryMb} of memory (and the heap that goes with it). */
  public SandboxIsolation withMemoryAtLeast(int memoryMb) {
    if (memoryMb <= limits.memoryMb()) {
      return this;
    }
    return new SandboxIsolation(new Limits(memoryMb, limits.cpus(), limits.maxProcesses(), limits.maxOpenFiles(),
        limits.noNetwork()), cgroups, roots, prlimit, unshare, containment, egress);
  }

  /**
   * The same isolation for a sandbox that calls {@code target} (an upstream provider): contained, it keeps a network
   * namespace of its own whose only way out is an {@link EgressRelay} to that host and port; without containment it
   * keeps the host's network.
   */
  public SandboxIsolation withEgressTo(java.net.URI target) {
    return new SandboxIsolation(new Limits(limits.memoryMb(), limits.cpus(), limits.maxProcesses(),
        limits.maxOpenFiles(), false), cgroups, roots, prlimit, false, containment, target);
  }

  /** The same caps with other containment (tests compare a contained sandbox with an uncontained one). */
  public SandboxIsolation withContainment(SandboxContainment other) {
    return new SandboxIsolation(limits, cgroups, roots, prlimit, unshare, other, egress);
  }

  /** Whether this sandbox's only way out is an egress relay (it calls a server, and has a network of its own). */
  public boolean relayedEgress() {
    return egress != null && !limits.noNetwork() && containment.ownNetwork();
  }

  public SandboxContainment containment() {
    return containment;
  }

  public Limits limits() {
    return limits;
  }

  public Cgroups cgroups() {
    return cgroups;
  }

  public boolean networkIsolated() {
    return limits.noNetwork() && (unshare || containment.ownNetwork());
  }

  public boolean rlimits() {
    return prlimit;
  }

  public String describe() {
    return "cgroups " + cgroups + (roots.isEmpty() ? "" : " " + roots) + ", memory " + limits.memoryMb() + " MB, cpus "
        + limits.cpus() + ", max processes " + limits.maxProcesses() + ", max open files " + limits.maxOpenFiles()
        + (prlimit ? " (rlimits)" : " (no rlimits)") + ", network " + (networkIsolated() ? "none"
            : relayedEgress() ? "only " + egress.getHost() + " through the node's egress relay" : "host")
        + ", containment: " + containment.describe();
  }

  /** Heap for the sandbox JVM: half its memory cap, leaving room for metaspace, threads and native memory. */
  public int heapMb() {
    return Math.max(32, limits.memoryMb() / 2);
  }

  /**
   * What one sandbox process starts with: its launch spec (naming its egress socket when it has one), the command
   * prefix of {@link #prepare(String, SandboxProcess.LaunchSpec, String)}, and its egress relay (null without one).
   */
  public record Launch(SandboxProcess.LaunchSpec spec, List<String> wrapper, EgressRelay egress)
      implements AutoCloseable {
    /** The process started from this launch; its egress relay closes once it is gone. */
    public SandboxProcess started(SandboxProcess process) {
      if (egress != null) {
        process.onExit().whenComplete((v, e) -> egress.close());
      }
      return process;
    }

    /** Closes the egress relay now (the process did not start, or is gone); again: nothing. */
    @Override
    public void close() {
      if (egress != null) {
        egress.close();
      }
    }
  }

  /** Prepares the caps and containment of the sandbox {@code spec} launches, and opens its egress relay if it has one. */
  public Launch launch(String sandboxId, SandboxProcess.LaunchSpec spec, String runtime) throws IOException {
    EgressRelay relay = relayedEgress() ? EgressRelay.open(spec.workDir(), egress) : null;
    try {
      SandboxProcess.LaunchSpec s = relay == null ? spec : spec.withVariable(EgressForwarder.ENV, relay.socketName());
      return new Launch(s, prepare(sandboxId, s, runtime), relay);
    } catch (IOException | RuntimeException e) {
      if (relay != null) {
        relay.close();
      }
      throw e;
    }
  }

  /**
   * Creates the sandbox's cgroups with its limits and returns the command prefix that puts the process in them,
   * sets its rlimits and drops its network before the JVM starts.
   */
  public List<String> prepare(String sandboxId) throws IOException {
    return prepare(sandboxId, null, "");
  }

  /**
   * As {@link #prepare(String)}, and contains the sandbox that {@code spec} launches (see {@link SandboxContainment});
   * without a spec, only the caps apply.
   */
  public List<String> prepare(String sandboxId, SandboxProcess.LaunchSpec spec, String runtime) throws IOException {
    List<String> jail = spec == null ? List.of() : containment.wrap(spec.workDir(), spec.javaCommand(),
        spec.classpath(), runtime, !limits.noNetwork(), networkIsolated(), relayedEgress());
    boolean contained = spec != null && containment.kind() != SandboxContainment.Kind.NONE;
    List<String> joins = new ArrayList<>();
    for (Path dir : groupDirs(sandboxId)) {
      Files.createDirectories(dir);
      joins.add("echo $$ > " + dir.resolve("cgroup.procs"));
    }
    writeLimits(sandboxId);
    List<String> cmd = new ArrayList<>();
    if (!joins.isEmpty()) {
      cmd.add("/bin/sh");
      cmd.add("-c");
      cmd.add(String.join(" && ", joins) + " && exec \"$@\"");
      cmd.add("aimos-sandbox");
    }
    if (prlimit) {
      cmd.add("prlimit");
      cmd.add("--nofile=" + limits.maxOpenFiles() + ":" + limits.maxOpenFiles());
      // a uid shared by every sandbox would make the process rlimit count them all: the pids cgroup caps each
      if (!(contained && containment.sharedUid() && cgroups != Cgroups.NONE)) {
        cmd.add("--nproc=" + limits.maxProcesses() + ":" + limits.maxProcesses());
      }
      cmd.add("--");
    }
    if (unshare && !(contained && containment.ownNetwork())) {
      cmd.add("unshare");
      cmd.add("-n");
      cmd.add("--");
    }
    cmd.addAll(jail);
    return cmd;
  }

  /** Removes the sandbox's cgroups once its process is gone. */
  public void release(String sandboxId) {
    for (Path dir : groupDirs(sandboxId)) {
      try {
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        log.debug("cgroup {} not removed yet: {}", dir, e.getMessage());
      }
    }
  }

  List<Path> groupDirs(String sandboxId) {
    return roots.stream().map(r -> r.resolve(sandboxId)).toList();
  }

  private void writeLimits(String sandboxId) throws IOException {
    long bytes = (long) limits.memoryMb() * 1024 * 1024;
    long period = 100_000;
    long quota = Math.max(1000, (long) (limits.cpus() * period));
    if (cgroups == Cgroups.V2) {
      Path dir = roots.get(0).resolve(sandboxId);
      Files.writeString(dir.resolve("memory.max"), Long.toString(bytes));
      writeIfPresent(dir.resolve("memory.swap.max"), "0");
      Files.writeString(dir.resolve("cpu.max"), quota + " " + period);
      Files.writeString(dir.resolve("pids.max"), Integer.toString(limits.maxProcesses()));
    } else if (cgroups == Cgroups.V1) {
      for (Path root : roots) {
        Path dir = root.resolve(sandboxId);
        String controller = root.getParent().getFileName().toString();
        if (controller.contains("memory")) {
          Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(bytes));
          writeIfPresent(dir.resolve("memory.memsw.limit_in_bytes"), Long.toString(bytes));
        } else if (controller.contains("cpu")) {
          Files.writeString(dir.resolve("cpu.cfs_period_us"), Long.toString(period));
          Files.writeString(dir.resolve("cpu.cfs_quota_us"), Long.toString(quota));
        } else if (controller.contains("pids")) {
          Files.writeString(dir.resolve("pids.max"), Integer.toString(limits.maxProcesses()));
        }
      }
    }
  }

  private static void writeIfPresent(Path file, String value) {
    try {
      if (Files.exists(file)) {
        Files.writeString(file, value);
      }
    } catch (IOException ignored) {
      // optional knob (swap accounting may be off)
    }
  }

  /** A cgroup v2 hierarchy with the memory, cpu and pids controllers where we may create groups. */
  private static Path writableV2() {
    for (String line : mounts()) {
      String[] f = line.split(" ");
      if (f.length > 2 && f[2].equals("cgroup2")) {
        Path mount = Path.of(f[1]);
        try {
          String available = Files.readString(mount.resolve("cgroup.controllers"));
          if (!(available.contains("memory") && available.contains("cpu") && available.contains("pids"))) {
            continue;
          }
          Path parent = mount.resolve("aimos");
          Files.createDirectories(parent);
          Files.writeString(mount.resolve("cgroup.subtree_control"), "+memory +cpu +pids");
          Files.writeString(parent.resolve("cgroup.subtree_control"), "+memory +cpu +pids");
          if (tryGroup(parent, "memory.max")) {
            return parent;
          }
        } catch (IOException | RuntimeException e) {
          // not usable: try the next
        }
      }
    }
    return null;
  }

  /** cgroup v1 memory, cpu and pids hierarchies where we may create groups (all three, or none). */
  private static List<Path> writableV1() {
    List<Path> roots = new ArrayList<>();
    for (String controller : List.of("memory", "cpu", "pids")) {
      Path found = null;
      for (String line : mounts()) {
        String[] f = line.split(" ");
        if (f.length > 3 && f[2].equals("cgroup") && List.of(f[3].split(",")).contains(controller)) {
          found = Path.of(f[1]).resolve("aimos");
          break;
        }
      }
      String knob = switch (controller) {
        case "memory" -> "memory.limit_in_bytes";
        case "cpu" -> "cpu.cfs_quota_us";
        default -> "pids.max";
      };
      try {
        if (found == null) {
          return List.of();
        }
        Files.createDirectories(found);
        if (!tryGroup(found, knob)) {
          return List.of();
        }
      } catch (IOException | RuntimeException e) {
        return List.of();
      }
      roots.add(found);
    }
    return roots;
  }

  private static boolean tryGroup(Path parent, String knob) {
    Path probe = parent.resolve("probe-" + ProcessHandle.current().pid());
    try {
      Files.createDirectories(probe);
      boolean ok = Files.isWritable(probe.resolve(knob));
      Files.deleteIfExists(probe);
      return ok;
    } catch (IOException e) {
      return false;
    }
  }

  private static List<String> mounts() {
    try {
      return Files.readAllLines(Path.of("/proc/self/mounts"));
    } catch (IOException e) {
      return List.of();
    }
  }

  /** Whether {@code command} exits 0 within 5 s: how a host's tools are probed. */
  static boolean runs(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
