package aimos.model.sandbox;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextResult;
import aimos.model.runtime.ModelRuntime;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A hostile model: on a request it tries each way out of its sandbox and answers with one line per attempt,
 * {@code attempt<TAB>SUCCEEDED|DENIED|NOT_TRIED<TAB>detail}. The prompt says where to aim, one {@code key=value} a
 * line: nodePid, secretName (a variable in the node's environment that no sandbox gets), nodeFile, nodeDir, cwdFile,
 * otherDir (holding secret.txt), port, hostTmp, systemFile, forkBomb (yes or no).
 *
 * <p>It is not a model runtime a version can name ({@link aimos.model.runtime.ModelRuntimes} does not know it, and
 * {@link SandboxMain} never makes it): it runs only as the entry point of the sandbox that {@link ContainmentDrill}
 * starts. A detail never carries what was read (a file's bytes, a variable's value): only what was reached.
 */
public final class EscapeProbe implements ModelRuntime {
  /** What the probe calls itself in its sandbox's health answers. */
  public static final String NAME = "escape-probe";

  public static final String SUCCEEDED = "SUCCEEDED";
  public static final String DENIED = "DENIED";
  public static final String NOT_TRIED = "NOT_TRIED";

  /** The attempts, in the order of the answer. */
  public static final List<String> ATTEMPTS = List.of(
      "read the node's environment via /proc/1/environ",
      "read the node's environment via /proc/<node pid>/environ",
      "see the node's pid in /proc",
      "read the node's memory via /proc/<node pid>/mem",
      "ptrace the node (strace -p <node pid>)",
      "ptrace a child of its own (strace true)",
      "make a user namespace (unshare -U)",
      "read a file in the node's data dir (Cassandra data stand-in)",
      "list the node's data dir",
      "read a file in the node's working dir",
      "list another sandbox's work dir",
      "read another sandbox's file",
      "open a TCP socket to the node's 127.0.0.1 listener",
      "write a file into the host's /tmp",
      "write a file into the node's data dir",
      "write a file into /usr/lib",
      "fork-bomb (start processes until refused)",
      "leave a process running",
      "reach the node's 127.0.0.1 listener through the egress relay");

  /** The sandbox's entry point: serves the probe as {@link SandboxMain} serves a runtime, on one model thread. */
  public static void main(String[] args) throws IOException {
    SandboxMain.serve(EscapeProbe::new, 1);
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply) {
    Map<String, String> at = new LinkedHashMap<>();
    for (String line : request.getText().getPrompt().split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        at.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    String node = at.getOrDefault("nodePid", "0");
    String secret = at.getOrDefault("secretName", "");
    List<Attempt> attempts = List.of(
        () -> environ(Path.of("/proc/1/environ"), secret),
        () -> environ(Path.of("/proc", node, "environ"), secret),
        () -> {
          Path proc = Path.of("/proc", node);
          if (!Files.exists(proc)) {
            try (Stream<Path> all = Files.list(Path.of("/proc"))) {
              return denied("no /proc/" + node + "; /proc shows pids " + all.map(p -> p.getFileName().toString())
                  .filter(n -> n.chars().allMatch(Character::isDigit)).sorted().collect(Collectors.joining(",")));
            }
          }
          return succeeded("/proc/" + node + " exists");
        },
        () -> readMemory(node),
        () -> command(List.of("strace", "-o", "/dev/null", "-p", node, "-e", "trace=none"), 2),
        () -> command(List.of("strace", "-o", "/dev/null", "true"), 10),
        () -> command(List.of("unshare", "-U", "true"), 10),
        () -> read(Path.of(at.get("nodeFile"))),
        () -> list(Path.of(at.get("nodeDir"))),
        () -> read(Path.of(at.get("cwdFile"))),
        () -> list(Path.of(at.get("otherDir"))),
        () -> read(Path.of(at.get("otherDir"), "secret.txt")),
        () -> {
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(at.get("port"))), 2000);
            return succeeded("connected");
          }
        },
        () -> {
          Files.writeString(Path.of(at.get("hostTmp")), "planted");
          return succeeded("wrote " + at.get("hostTmp") + " (as the sandbox sees it)");
        },
        () -> {
          Files.writeString(Path.of(at.get("nodeDir"), "planted"), "planted");
          return succeeded("wrote");
        },
        () -> {
          Files.writeString(Path.of(at.get("systemFile")), "planted");
          return succeeded("wrote " + at.get("systemFile"));
        },
        () -> "yes".equals(at.get("forkBomb")) ? forkBomb() : NOT_TRIED + "\tthe node did not ask for it",
        // not an escape: a process left behind, which must die with the sandbox (the node judges it)
        () -> {
          Process p = new ProcessBuilder("sleep", "30").start();
          return denied("pid " + p.pid() + " left running; it must go when the sandbox is killed");
        },
        () -> throughRelay("127.0.0.1:" + at.get("port")));
    StringBuilder answer = new StringBuilder();
    for (int i = 0; i < ATTEMPTS.size(); i++) {
      if (i > 0) {
        answer.append('\n');
      }
      answer.append(ATTEMPTS.get(i)).append('\t').append(attempt(attempts.get(i)));
    }
    reply.setText(TextResult.newBuilder().setCompletion(answer.toString()));
  }

  private interface Attempt {
    String run() throws Exception;
  }

  private static String attempt(Attempt a) {
    try {
      return a.run();
    } catch (Exception | Error e) {
      return denied(e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  private static String succeeded(String detail) {
    return SUCCEEDED + "\t" + clean(detail);
  }

  private static String denied(String detail) {
    return DENIED + "\t" + clean(detail);
  }

  private static String clean(String detail) {
    return String.valueOf(detail).replace('\n', ' ').replace('\t', ' ');
  }

  /** Whether the file is a process environment that holds the node's variable (its name is reported, never its value). */
  private static String environ(Path file, String secret) throws IOException {
    if (secret.isEmpty()) {
      return NOT_TRIED + "\tthe node named no variable to look for";
    }
    String env = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    for (String entry : env.split("\0")) {
      if (entry.startsWith(secret + "=")) {
        return succeeded("found " + secret);
      }
    }
    return denied(file + " is readable but has no " + secret + " (it is the sandbox's own)");
  }

  /**
   * Asks the node's egress relay (the socket in its working directory, if it has one) for a tunnel to {@code target};
   * an upstream sandbox also asks for its own provider, which must work, so that a refusal is the relay's choice and
   * not a relay that reaches nothing.
   */
  private static String throughRelay(String target) throws IOException {
    String socket;
    try (Stream<Path> here = Files.list(Path.of(""))) {
      socket = here.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("egress-") && n.endsWith(".sock"))
          .findFirst().orElse(null);
    }
    if (socket == null) {
      return denied("no egress socket in its work dir: this sandbox has no way out at all");
    }
    String answer = tunnel(socket, target);
    if (answer.startsWith("HTTP/1.1 200")) {
      return succeeded("the relay opened a tunnel: " + answer);
    }
    String provider = System.getenv("AIMOS_UPSTREAM_BASE_URL");
    String control = "";
    if (provider != null) {
      java.net.URI uri = java.net.URI.create(provider);
      control = "; its provider " + uri.getHost() + ":" + uri.getPort() + ": " + tunnel(socket, uri.getHost() + ":"
          + uri.getPort());
    }
    return denied("the relay answered " + answer + control);
  }

  /** The status line the relay answers to {@code CONNECT target}. */
  private static String tunnel(String socket, String target) throws IOException {
    try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
        java.net.UnixDomainSocketAddress.of(socket))) {
      ch.write(java.nio.ByteBuffer.wrap(("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1)));
      java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(512);
      String got = "";
      while (in.hasRemaining() && ch.read(in) >= 0) {
        got = new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
        if (got.contains("\r\n")) {
          return got.substring(0, got.indexOf("\r\n"));
        }
      }
      return got.isBlank() ? "nothing (closed)" : got.strip();
    }
  }

  private static String read(Path file) throws IOException {
    return succeeded("read " + Files.readAllBytes(file).length + " bytes of " + file);
  }

  private static String list(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return succeeded("listed " + files.count() + " entries of " + dir);
    }
  }

  private static String readMemory(String pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", pid, "maps"))) {
      String[] f = line.split("\\s+");
      if (f.length > 1 && f[1].startsWith("r")) {
        long start = Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
          mem.seek(start);
          byte[] bytes = new byte[16];
          mem.readFully(bytes);
          return succeeded("read 16 bytes at " + Long.toHexString(start));
        }
      }
    }
    return denied("no readable mapping");
  }

  private static String command(List<String> cmd, int seconds) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      // attached and tracing: the attempt worked
      p.destroyForcibly();
      return succeeded(String.join(" ", cmd) + " was still attached after " + seconds + " s");
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    return p.exitValue() == 0 ? succeeded(String.join(" ", cmd) + " exited 0")
        : denied(out.isEmpty() ? "exit " + p.exitValue() : out);
  }

  /**
   * Forks sleeping processes until a fork is refused (or 2,000 run), then kills them all; in perl, so that the refusal
   * lands on the bomb and not on a thread this JVM needs.
   */
  private static String forkBomb() throws IOException, InterruptedException {
    String script = "my @kids; my $why = ''; while (@kids < 2000) { my $p = fork(); if (!defined $p) { $why = \"$!\"; "
        + "last } if ($p == 0) { sleep 60; exit 0 } push @kids, $p } kill 9, @kids; waitpid($_, 0) for @kids; "
        + "print scalar(@kids), \"\\t$why\\n\"";
    Process p = new ProcessBuilder("perl", "-e", script).redirectErrorStream(true).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return succeeded("the bomb was still running after 60 s");
    }
    String[] out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip().split("\t", 2);
    return out.length == 2 && !out[1].isBlank() ? denied("refused after " + out[0] + " processes: " + out[1])
        : succeeded("started " + out[0] + " processes");
  }
}
