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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A hostile model, for tests only: on a request it tries each way out of its sandbox and answers with one line per
 * attempt, {@code name<TAB>SUCCEEDED|DENIED<TAB>detail}. The prompt says where to aim, one {@code key=value} a line:
 * nodePid, secretName (a variable in the node's environment), nodeFile, nodeDir, cwdFile, otherDir, port, hostTmp.
 */
public final class HostileRuntime implements ModelRuntime {
  public static final String NAME = "hostile";

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
    String node = at.get("nodePid");
    String secret = at.get("secretName");
    Map<String, String> results = new LinkedHashMap<>();
    results.put("read the node's environment via /proc/1/environ",
        attempt(() -> environ(Path.of("/proc/1/environ"), secret)));
    results.put("read the node's environment via /proc/<node pid>/environ",
        attempt(() -> environ(Path.of("/proc", node, "environ"), secret)));
    results.put("see the node's pid in /proc", attempt(() -> {
      Path proc = Path.of("/proc", node);
      if (!Files.exists(proc)) {
        try (Stream<Path> all = Files.list(Path.of("/proc"))) {
          return denied("no /proc/" + node + "; /proc shows pids " + all.map(p -> p.getFileName().toString())
              .filter(n -> n.chars().allMatch(Character::isDigit)).sorted().collect(Collectors.joining(",")));
        }
      }
      return succeeded("/proc/" + node + " exists: " + Files.readString(proc.resolve("cmdline")).replace('\0', ' ')
          .substring(0, 40));
    }));
    results.put("read the node's memory via /proc/<node pid>/mem", attempt(() -> readMemory(node)));
    results.put("ptrace the node (strace -p <node pid>)",
        attempt(() -> command(List.of("strace", "-o", "/dev/null", "-p", node, "-e", "trace=none"), 2)));
    results.put("ptrace a child of its own (strace true)",
        attempt(() -> command(List.of("strace", "-o", "/dev/null", "true"), 10)));
    results.put("make a user namespace (unshare -U)", attempt(() -> command(List.of("unshare", "-U", "true"), 10)));
    results.put("read a file in the node's data dir (Cassandra data stand-in)",
        attempt(() -> succeeded("read " + Files.readString(Path.of(at.get("nodeFile"))).strip())));
    results.put("list the node's data dir", attempt(() -> list(Path.of(at.get("nodeDir")))));
    results.put("read a file in the node's working dir",
        attempt(() -> succeeded("read " + Files.readString(Path.of(at.get("cwdFile"))).strip())));
    results.put("list another sandbox's work dir", attempt(() -> list(Path.of(at.get("otherDir")))));
    results.put("read another sandbox's file",
        attempt(() -> succeeded("read " + Files.readString(Path.of(at.get("otherDir"), "secret.txt")).strip())));
    results.put("open a TCP socket to the node's 127.0.0.1 listener", attempt(() -> {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(at.get("port"))), 2000);
        return succeeded("connected");
      }
    }));
    results.put("write a file into the host's /tmp", attempt(() -> {
      Files.writeString(Path.of(at.get("hostTmp")), "planted");
      return succeeded("wrote " + at.get("hostTmp") + " (as the sandbox sees it)");
    }));
    results.put("write a file into the node's data dir", attempt(() -> {
      Files.writeString(Path.of(at.get("nodeDir"), "planted"), "planted");
      return succeeded("wrote");
    }));
    results.put("write a file into /usr/lib", attempt(() -> {
      Files.writeString(Path.of("/usr/lib/planted"), "planted");
      return succeeded("wrote");
    }));
    results.put("fork-bomb (start processes until refused)", attempt(this::forkBomb));
    // not an escape: a process left behind, which must die with the sandbox
    results.put("leave a process running", attempt(() -> {
      Process p = new ProcessBuilder("sleep", "30").start();
      return denied("pid " + p.pid() + " left running; it must go when the sandbox is killed");
    }));
    reply.setText(TextResult.newBuilder().setCompletion(results.entrySet().stream()
        .map(e -> e.getKey() + "\t" + e.getValue()).collect(Collectors.joining("\n"))));
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
    return "SUCCEEDED\t" + detail.replace('\n', ' ').replace('\t', ' ');
  }

  private static String denied(String detail) {
    return "DENIED\t" + String.valueOf(detail).replace('\n', ' ').replace('\t', ' ');
  }

  private static String environ(Path file, String secret) throws IOException {
    String env = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    return env.contains(secret + "=") ? succeeded("found " + secret)
        : denied(file + " is readable but has no " + secret + " (it is the sandbox's own)");
  }

  private static String list(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return succeeded("listed " + files.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  private static String readMemory(String pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", pid, "maps"))) {
      String[] f = line.split("\\s+");
      if (f[1].startsWith("r")) {
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
  private String forkBomb() throws IOException, InterruptedException {
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
