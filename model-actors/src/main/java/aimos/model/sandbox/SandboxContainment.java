package aimos.model.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What keeps a model's code from the node and from other sandboxes, beyond the caps of {@link SandboxIsolation}: a
 * dedicated unprivileged uid (or the node's own in a user namespace), a mount namespace whose root shows the java
 * runtime, the classpath and the model's files read-only with a private writable work dir and {@code /tmp}, a pid
 * namespace with its own {@code /proc}, no_new_privs and a seccomp filter. These come from {@code aimos-jail}, a small
 * C launcher that the node compiles with gcc on first use into its cache dir. Without gcc (or a kernel feature the
 * launcher needs) mode {@code auto} falls back to what util-linux's {@code unshare} and {@code setpriv} give and says
 * which layers are missing; mode {@code required} refuses to start sandboxes instead; mode {@code off} applies none.
 */
public final class SandboxContainment {
  private static final Logger log = LoggerFactory.getLogger(SandboxContainment.class);
  static final String SOURCE = "aimos-jail.c";

  public enum Mode {
    AUTO, REQUIRED, OFF;

    public static Mode parse(String value) {
      try {
        return Mode.valueOf(value.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("aimos.sandbox.containment.mode (AIMOS_SANDBOX_CONTAINMENT) must be auto, "
            + "required or off, was '" + value + "'");
      }
    }
  }

  /**
   * @param uid        the uid sandboxes run as when the node is root (a user namespace keeps the node's own otherwise)
   * @param cacheDir   where the launcher is compiled to; owned by the node's user
   * @param readOnly   paths shown read-only to every sandbox besides the system's, the java runtime and the classpath
   * @param tmpMb      the size of each sandbox's private {@code /tmp}
   */
  public record Settings(Mode mode, long uid, long gid, Path cacheDir, List<String> readOnly, int tmpMb) {
    public Settings {
      if (uid < 1 || gid < 1) {
        throw new IllegalArgumentException("the sandbox uid and gid must be unprivileged (1 or more), were " + uid
            + ":" + gid);
      }
      if (tmpMb < 1) {
        throw new IllegalArgumentException("the sandbox /tmp size must be at least 1 MB, was " + tmpMb);
      }
      for (String p : readOnly) {
        if (!p.startsWith("/")) {
          throw new IllegalArgumentException("aimos.sandbox.containment.read-only-paths takes absolute paths, not '"
              + p + "'");
        }
      }
      readOnly = List.copyOf(readOnly);
    }

    public static Settings defaults(Mode mode) {
      return new Settings(mode, 65534, 65534, defaultCacheDir(), List.of(), 64);
    }

    public static Path defaultCacheDir() {
      return Path.of(System.getProperty("user.home"), ".cache", "aimos", "sandbox");
    }
  }

  /** How sandboxes are contained on this host. */
  public enum Kind {
    /** aimos-jail: every layer. */
    JAIL,
    /** util-linux: pid, ipc and uts namespaces with their own /proc, no_new_privs; no uid, file view or seccomp. */
    UTIL_LINUX,
    /** nothing (mode off, or nothing works here). */
    NONE
  }

  private static final List<String> SYSTEM_PATHS = List.of("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32",
      "/libx32", "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/pki", "/etc/passwd", "/etc/group",
      "/etc/nsswitch.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/localtime", "/etc/timezone", "/etc/ld.so.cache",
      "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/os-release", "/etc/fonts");

  private final Settings settings;
  private final Kind kind;
  private final Path jail;
  private final boolean root;
  /** Why containment is short of every layer, or "" when it has them all. */
  private final String missing;

  SandboxContainment(Settings settings, Kind kind, Path jail, boolean root, String missing) {
    this.settings = settings;
    this.kind = kind;
    this.jail = jail;
    this.root = root;
    this.missing = missing;
  }

  public static SandboxContainment off() {
    return new SandboxContainment(Settings.defaults(Mode.OFF), Kind.NONE, null, false, "");
  }

  /** Finds out once what this host allows, compiling the launcher if needed, and logs which layers apply. */
  public static SandboxContainment probe(Settings settings) {
    if (settings.mode() == Mode.OFF) {
      log.warn("Sandbox containment is off (aimos.sandbox.containment.mode): sandboxes run as the node's user and see "
          + "its files and processes");
      return off();
    }
    boolean root = "0".equals(run(List.of("id", "-u")).strip());
    String why;
    Path jail = null;
    try {
      jail = compile(settings.cacheDir());
      String failed = tryJail(jail, settings, root);
      why = failed;
      if (!failed.isEmpty()) {
        jail = null;
      }
    } catch (IOException e) {
      why = e.getMessage();
    }
    SandboxContainment c;
    if (jail != null) {
      c = new SandboxContainment(settings, Kind.JAIL, jail, root, "");
    } else {
      String fix = "; install gcc and the kernel headers (apt-get install gcc linux-libc-dev) and allow namespaces "
          + "(run the node as root, or enable unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1"
          + " user.max_user_namespaces=10000)";
      String lost = "a dedicated uid, a read-only file view with a private work dir and /tmp, and the seccomp filter";
      boolean util = root && SandboxIsolation.runs("unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
          "--ipc", "--uts", "setpriv", "--no-new-privs", "true");
      c = new SandboxContainment(settings, util ? Kind.UTIL_LINUX : Kind.NONE, null, root,
          "aimos-jail cannot be used (" + why + "), so sandboxes lack " + lost
              + (util ? "" : ", and util-linux cannot give them a pid namespace either") + fix);
    }
    if (!c.missing.isEmpty()) {
      if (settings.mode() == Mode.REQUIRED) {
        log.error("Sandbox containment is required but {}; sandboxes will not start", c.missing);
      } else {
        log.warn("Sandbox containment (auto): {}", c.missing);
      }
    }
    log.info("Sandbox containment layers: {}", c.describe());
    return c;
  }

  public Kind kind() {
    return kind;
  }

  public Mode mode() {
    return settings.mode();
  }

  /** Why containment is short of every layer, and how to fix it; "" when every layer applies (or mode is off). */
  public String missing() {
    return missing;
  }

  /** Whether the sandbox process is the launcher's child in a pid namespace of its own (the node tracks that child). */
  public boolean ownPidNamespace() {
    return kind != Kind.NONE;
  }

  /** Whether the launcher gives sandboxes a network namespace of their own when asked. */
  public boolean ownNetwork() {
    return kind == Kind.JAIL;
  }

  /** Whether sandboxes run under a uid of their own (so process rlimits would count all sandboxes together). */
  public boolean sharedUid() {
    return kind == Kind.JAIL && root;
  }

  public String describe() {
    return switch (kind) {
      case NONE -> "none (" + (settings.mode() == Mode.OFF ? "off" : "nothing available") + ")";
      case UTIL_LINUX -> "pid, ipc and uts namespaces with their own /proc, no_new_privs (util-linux); no dedicated "
          + "uid, no private file view, no seccomp filter";
      case JAIL -> (root ? "uid " + settings.uid() + ":" + settings.gid() : "the node's uid in a user namespace, no "
          + "capabilities") + ", mount namespace (read-only root of the java runtime, classpath and model files; "
          + "private work dir and " + settings.tmpMb() + " MB /tmp), pid namespace with its own /proc, ipc and uts "
          + "namespaces, no_new_privs, seccomp filter (no ptrace, process_vm, mount, namespaces, kexec, bpf, "
          + "perf_event_open, keys, modules; local runtimes: AF_UNIX sockets only)";
    };
  }

  /**
   * The command prefix that contains one sandbox. Throws, with what is missing and how to fix it, when containment is
   * required and cannot be applied.
   *
   * @param network whether the sandbox calls other servers (upstream runtimes)
   * @param noNetwork whether it gets a network namespace with nothing up
   * @param relay whether it gets a network namespace whose only way out is its egress relay (with network)
   */
  public List<String> wrap(Path workDir, String javaCommand, String classpath, String runtime, boolean network,
                           boolean noNetwork, boolean relay) throws IOException {
    if (settings.mode() == Mode.REQUIRED && !missing.isEmpty()) {
      throw new IOException("sandbox containment is required (aimos.sandbox.containment.mode) but " + missing);
    }
    List<String> cmd = new ArrayList<>();
    switch (kind) {
      case NONE -> {
        return cmd;
      }
      case UTIL_LINUX -> {
        cmd.addAll(List.of("unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "--uts",
            "--wd=" + workDir.toAbsolutePath()));
        cmd.addAll(List.of("setpriv", "--no-new-privs", "--"));
        return cmd;
      }
      default -> {
        // the jail is what runs: the caller's other wrappers come before it
      }
    }
    cmd.add(jail.toString());
    if (root) {
      cmd.addAll(List.of("--uid", Long.toString(settings.uid()), "--gid", Long.toString(settings.gid())));
    } else {
      cmd.add("--userns");
    }
    cmd.addAll(List.of("--stage", stageDir(settings.cacheDir()).toString(), "--workdir",
        workDir.toAbsolutePath().normalize().toString(), "--tmp-mb", Integer.toString(settings.tmpMb()),
        "--net", noNetwork ? "none" : relay ? "relay" : "host", "--seccomp", network ? "upstream" : "local"));
    for (String p : readOnlyPaths(javaCommand, classpath, runtime, workDir)) {
      cmd.add("--ro");
      cmd.add(p);
    }
    cmd.add("--");
    return cmd;
  }

  /**
   * What a sandbox sees read-only: the system's programs and libraries, a few files of /etc (no secrets: users,
   * name service, certificates, the java configuration), the java runtime, every classpath entry, the model's own
   * file and the configured extras. Nothing that contains the work dir is shown, so no other sandbox's dir is either.
   */
  List<String> readOnlyPaths(String javaCommand, String classpath, String runtime, Path workDir) {
    Set<String> paths = new LinkedHashSet<>(SYSTEM_PATHS);
    try (var etc = Files.list(Path.of("/etc"))) {
      etc.filter(p -> p.getFileName().toString().startsWith("java")).forEach(p -> paths.add(p.toString()));
    } catch (IOException e) {
      // no /etc to list
    }
    Path javaPath = Path.of(javaCommand).toAbsolutePath().normalize();
    if (javaPath.getParent() != null && javaPath.getParent().getParent() != null) {
      paths.add(javaPath.getParent().getParent().toString());
      try {
        paths.add(javaPath.toRealPath().getParent().getParent().toString());
      } catch (IOException e) {
        // the java command is checked when it starts
      }
    }
    List<String> own = new ArrayList<>();
    for (String entry : classpath.split(java.io.File.pathSeparator)) {
      if (!entry.isBlank()) {
        own.add(Path.of(entry).toAbsolutePath().normalize().toString());
      }
    }
    if (runtime.startsWith("onnx-image:")) {
      String file = runtime.substring("onnx-image:".length());
      own.add(file);
      own.add(file + ".json");
    }
    own.addAll(settings.readOnly());
    for (String p : own) {
      paths.add(p);
      // a symlink is shown as one: what it points to must be there too
      try {
        String real = Path.of(p).toRealPath().toString();
        if (!real.equals(p)) {
          paths.add(real);
        }
      } catch (IOException e) {
        // absent: left out below
      }
    }
    Path work = workDir.toAbsolutePath().normalize();
    List<String> shown = new ArrayList<>();
    for (String p : paths) {
      Path path = Path.of(p).normalize();
      if (path.getNameCount() == 0 || work.startsWith(path)) {
        log.warn("Sandbox containment: not showing {} to sandboxes: it holds their work dirs", p);
        continue;
      }
      if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
        shown.add(path.toString());
      }
    }
    return shown;
  }

  static Path stageDir(Path cacheDir) {
    return cacheDir.resolve("stage");
  }

  /** Compiles the launcher into the cache dir unless a build of the same source is there; returns its path. */
  static Path compile(Path cacheDir) throws IOException {
    byte[] source;
    try (InputStream in = SandboxContainment.class.getResourceAsStream(SOURCE)) {
      if (in == null) {
        throw new IOException("the launcher's source " + SOURCE + " is not on the classpath");
      }
      source = in.readAllBytes();
    }
    String hash;
    try {
      hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source)).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    Files.createDirectories(cacheDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.createDirectories(stageDir(cacheDir));
    Path binary = cacheDir.resolve("aimos-jail-" + hash);
    String self = System.getProperty("user.name");
    if (Files.isExecutable(binary) && Files.getOwner(binary).getName().equals(self)
        && Files.getOwner(cacheDir).getName().equals(self)) {
      return binary;
    }
    Path src = Files.createTempFile(cacheDir, "aimos-jail-", ".c");
    Path out = Files.createTempFile(cacheDir, "aimos-jail-", ".bin");
    try {
      Files.write(src, source);
      String result = run(List.of("gcc", "-O2", "-Wall", "-o", out.toString(), src.toString()));
      if (!Files.isExecutable(out) || Files.size(out) == 0) {
        throw new IOException("gcc could not build it" + (result.isBlank() ? "" : ": " + result.strip()));
      }
      try {
        Files.move(out, binary, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(out, binary, StandardCopyOption.REPLACE_EXISTING);
      }
      log.info("Sandbox containment: compiled {}", binary);
      return binary;
    } finally {
      Files.deleteIfExists(src);
      Files.deleteIfExists(out);
    }
  }

  /** Runs {@code true} in a jail as a sandbox would be; "" when it worked, else what failed. */
  private static String tryJail(Path jail, Settings settings, boolean root) throws IOException {
    Path work = Files.createTempDirectory(settings.cacheDir(), "probe-");
    try {
      String truth = Files.exists(Path.of("/usr/bin/true")) ? "/usr/bin/true" : "/bin/true";
      List<String> cmd = new ArrayList<>(List.of(jail.toString()));
      if (root) {
        cmd.addAll(List.of("--uid", Long.toString(settings.uid()), "--gid", Long.toString(settings.gid())));
      } else {
        cmd.add("--userns");
      }
      cmd.addAll(List.of("--stage", stageDir(settings.cacheDir()).toString(), "--workdir", work.toString(),
          "--net", "none", "--seccomp", "local"));
      for (String p : List.of("/usr", "/bin", "/lib", "/lib64")) {
        if (Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS)) {
          cmd.addAll(List.of("--ro", p));
        }
      }
      cmd.add("--");
      cmd.add(truth);
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes()).strip();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "aimos-jail did not finish a trial run";
      }
      return p.exitValue() == 0 ? "" : "a trial run failed: " + (output.isEmpty() ? "exit " + p.exitValue() : output);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    } finally {
      try (var files = Files.walk(work)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  private static String run(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
      return out;
    } catch (IOException e) {
      return e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

}
