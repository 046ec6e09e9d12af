package aimos.model.sandbox;

import aimos.internal.sandbox.Ping;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The node's handle on one sandbox worker process: length-delimited protobuf frames over the child's stdin/stdout,
 * many requests in flight, each matched to its reply by id. When the process dies, every pending call fails.
 */
public final class SandboxProcess implements AutoCloseable {

  /** How to launch a sandbox: the java binary, JVM flags, classpath and working directory. */
  public record LaunchSpec(String javaCommand, List<String> jvmOptions, String classpath, Path workDir) {}

  public static final class SandboxDied extends RuntimeException {
    public SandboxDied(String message) {
      super(message);
    }
  }

  private final Process process;
  private final OutputStream toChild;
  private final Map<Long, CompletableFuture<SandboxReply>> pending = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final Thread reader;
  private volatile boolean closed;

  private SandboxProcess(Process process) {
    this.process = process;
    this.toChild = new BufferedOutputStream(process.getOutputStream(), 64 * 1024);
    this.reader = new Thread(this::readLoop, "sandbox-reader-" + process.pid());
    this.reader.setDaemon(true);
    this.reader.start();
    process.onExit().thenRun(() -> failAll("sandbox process " + process.pid() + " exited with code "
        + process.exitValue()));
  }

  /** Starts the worker process for a runtime; it is ready once {@link #ping} answers. */
  public static SandboxProcess start(LaunchSpec spec, String runtime, int threads) throws IOException {
    Files.createDirectories(spec.workDir());
    List<String> cmd = new ArrayList<>();
    cmd.add(spec.javaCommand());
    cmd.addAll(spec.jvmOptions());
    cmd.add("-cp");
    cmd.add(spec.classpath());
    cmd.add(SandboxMain.class.getName());
    cmd.add(runtime);
    cmd.add(Integer.toString(threads));
    Process p = new ProcessBuilder(cmd)
        .directory(spec.workDir().toFile())
        .redirectError(ProcessBuilder.Redirect.appendTo(spec.workDir().resolve("sandbox.log").toFile()))
        .start();
    return new SandboxProcess(p);
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public CompletableFuture<Void> onExit() {
    return process.onExit().thenApply(p -> null);
  }

  public int exitCode() {
    return process.isAlive() ? -1 : process.exitValue();
  }

  public CompletableFuture<SandboxReply> ping(Duration timeout) {
    return call(SandboxRequest.newBuilder().setPing(Ping.getDefaultInstance()), timeout);
  }

  /** Sends one request; the future completes with its reply, or fails if the process dies or the deadline passes. */
  public CompletableFuture<SandboxReply> call(SandboxRequest.Builder request, Duration timeout) {
    long id = ids.incrementAndGet();
    CompletableFuture<SandboxReply> f = new CompletableFuture<>();
    if (closed || !process.isAlive()) {
      f.completeExceptionally(new SandboxDied("sandbox process " + process.pid() + " is not running"));
      return f;
    }
    pending.put(id, f);
    try {
      SandboxRequest r = request.setId(id).build();
      synchronized (toChild) {
        r.writeDelimitedTo(toChild);
        toChild.flush();
      }
    } catch (IOException e) {
      pending.remove(id);
      f.completeExceptionally(new SandboxDied("cannot write to sandbox process " + process.pid() + ": "
          + e.getMessage()));
      return f;
    }
    f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((r, e) -> pending.remove(id));
    return f;
  }

  private void readLoop() {
    try (InputStream in = new BufferedInputStream(process.getInputStream(), 64 * 1024)) {
      while (true) {
        SandboxReply reply = SandboxReply.parseDelimitedFrom(in);
        if (reply == null) {
          break;
        }
        CompletableFuture<SandboxReply> f = pending.remove(reply.getId());
        if (f != null) {
          f.complete(reply);
        }
      }
    } catch (IOException e) {
      // a broken or garbled stream: the process is killed below and every caller told
    }
    if (!closed) {
      process.destroyForcibly();
    }
    failAll("sandbox process " + process.pid() + " closed its output");
  }

  private void failAll(String why) {
    for (var it = pending.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      it.remove();
      e.getValue().completeExceptionally(new SandboxDied(why));
    }
  }

  /** Stops the process: closes its input (it exits on EOF), then kills it if it lingers. */
  @Override
  public void close() {
    closed = true;
    try {
      toChild.close();
    } catch (IOException ignored) {
      // already gone
    }
    try {
      if (!process.waitFor(2, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    failAll("sandbox stopped");
  }
}
