package aimos.model.sandbox;

import aimos.internal.sandbox.Ping;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
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

  /**
   * How to start a sandbox JVM: the java binary, JVM flags, classpath, working directory, and what its runtime needs
   * in its environment (provider settings, never arguments); the node's own environment is not passed on.
   */
  public record LaunchSpec(String javaCommand, List<String> jvmOptions, String classpath, Path workDir,
                           java.util.Map<String, String> environment) {
    public LaunchSpec(String javaCommand, List<String> jvmOptions, String classpath, Path workDir) {
      this(javaCommand, jvmOptions, classpath, workDir, java.util.Map.of());
    }

    /** The same spec with one more variable in the sandbox's environment. */
    public LaunchSpec withVariable(String name, String value) {
      java.util.Map<String, String> env = new java.util.TreeMap<>(environment);
      env.put(name, value);
      return new LaunchSpec(javaCommand, jvmOptions, classpath, workDir, env);
    }
  }

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SandboxProcess.class);

  /** The process died or was killed with the request in it; the message is fit for the caller (no pid, no detail). */
  public static final class SandboxDied extends RuntimeException {
    public SandboxDied(String message) {
      super(message);
    }
  }

  /** The sandbox answered with more bytes than the node accepts; the process is recycled. */
  public static final class OversizedReply extends RuntimeException {
    public OversizedReply(String message) {
      super(message);
    }
  }

  private final Process process;
  /** Whether the process is a launcher whose only child, in a pid namespace of its own, is the sandbox JVM. */
  private final boolean launcher;
  private volatile long sandboxPid = -1;
  private final OutputStream toChild;
  private final Map<Long, CompletableFuture<SandboxReply>> pending = new ConcurrentHashMap<>();
  private final Map<Long, java.util.function.Consumer<String>> streams = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final Thread reader;
  private final int maxReplyBytes;
  private volatile boolean closed;
  private volatile String fault = "";

  private SandboxProcess(Process process, boolean launcher, int maxReplyBytes) {
    this.process = process;
    this.launcher = launcher;
    this.maxReplyBytes = maxReplyBytes;
    this.toChild = new BufferedOutputStream(process.getOutputStream(), 64 * 1024);
    this.reader = new Thread(this::readLoop, "sandbox-reader-" + process.pid());
    this.reader.setDaemon(true);
    this.reader.start();
    process.onExit().thenRun(() -> failAll(fault.isEmpty()
        ? "sandbox process " + process.pid() + " exited with code " + process.exitValue()
        : fault));
  }

  /** Starts the worker process for a runtime; it is ready once {@link #ping} answers. */
  public static SandboxProcess start(LaunchSpec spec, List<String> wrapper, String runtime, int threads,
                                     int maxReplyBytes) throws IOException {
    return start(spec, wrapper, false, runtime, threads, maxReplyBytes);
  }

  /**
   * As {@link #start(LaunchSpec, List, String, int, int)}; {@code contained} says that the wrapper ends in a launcher
   * that runs the JVM as its child in a pid namespace and sets its working directory itself (see
   * {@link SandboxContainment}): the node then tracks that child as the sandbox.
   */
  public static SandboxProcess start(LaunchSpec spec, List<String> wrapper, boolean contained, String runtime,
                                     int threads, int maxReplyBytes) throws IOException {
    return start(spec, wrapper, contained, SandboxMain.class.getName(), runtime, threads, maxReplyBytes);
  }

  /**
   * As {@link #start(LaunchSpec, List, boolean, String, int, int)} with another entry point than {@link SandboxMain}
   * (the containment drill's {@link EscapeProbe}); not public: no model version names its main class.
   */
  static SandboxProcess start(LaunchSpec spec, List<String> wrapper, boolean contained, String mainClass,
                              String runtime, int threads, int maxReplyBytes) throws IOException {
    Files.createDirectories(spec.workDir());
    List<String> cmd = new ArrayList<>(wrapper);
    cmd.add(spec.javaCommand());
    cmd.addAll(spec.jvmOptions());
    cmd.add("-cp");
    cmd.add(spec.classpath());
    cmd.add(mainClass);
    cmd.add(runtime);
    cmd.add(Integer.toString(threads));
    ProcessBuilder builder = new ProcessBuilder(cmd);
    Map<String, String> env = builder.environment();
    env.clear();
    env.putAll(SandboxEnvironment.of(System.getenv(), spec.workDir(), spec.environment()));
    Process p = builder
        .directory(contained ? new java.io.File("/") : spec.workDir().toFile())
        .redirectError(ProcessBuilder.Redirect.appendTo(spec.workDir().resolve("sandbox.log").toFile()))
        .start();
    return new SandboxProcess(p, contained, maxReplyBytes);
  }

  /** Why the node gave up on this process (garbage or oversized output), or "" while it has not. */
  public String fault() {
    return fault;
  }

  /** Kills the process at once, for a hang or a misbehaviour; every pending call fails with the reason. */
  public void kill(String reason) {
    if (fault.isEmpty()) {
      fault = reason;
    }
    destroyForcibly();
  }

  /**
   * Kills the sandbox JVM; a launcher then exits with its status (it and the namespace would also go if the launcher
   * were killed first, but its child would be left for the host's init to reap).
   */
  private void destroyForcibly() {
    var child = launcher ? sandbox() : java.util.Optional.<ProcessHandle>empty();
    if (child.isPresent()) {
      child.get().destroyForcibly();
      process.onExit().orTimeout(2, TimeUnit.SECONDS).exceptionally(timeout -> {
        process.destroyForcibly();
        return null;
      });
    } else {
      process.destroyForcibly();
    }
  }

  /** The launcher's child, once it has started. */
  private java.util.Optional<ProcessHandle> sandbox() {
    return process.children().findFirst();
  }

  /** The sandbox JVM's pid as the node sees it (inside its own pid namespace it is 1). */
  public long pid() {
    if (!launcher) {
      return process.pid();
    }
    long known = sandboxPid;
    if (known < 0) {
      known = sandbox().map(ProcessHandle::pid).orElse(-1L);
      if (known < 0) {
        return process.pid();
      }
      sandboxPid = known;
    }
    return known;
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
    return call(request, timeout, null);
  }

  /**
   * As {@link #call(SandboxRequest.Builder, Duration)}, handing the pieces of a streamed text job to {@code chunks}
   * (on the reading thread, in order) before the reply completes the future.
   */
  public CompletableFuture<SandboxReply> call(SandboxRequest.Builder request, Duration timeout,
                                              java.util.function.Consumer<String> chunks) {
    long id = ids.incrementAndGet();
    if (chunks != null) {
      streams.put(id, chunks);
    }
    CompletableFuture<SandboxReply> f = new CompletableFuture<>();
    if (closed || !process.isAlive()) {
      f.completeExceptionally(new SandboxDied("the sandbox process is not running"));
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
      streams.remove(id);
      LOG.info("Cannot write to sandbox process {}: {}", process.pid(), e.toString());
      f.completeExceptionally(new SandboxDied("the sandbox process stopped taking requests"));
      return f;
    }
    f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((r, e) -> {
      pending.remove(id);
      streams.remove(id);
    });
    return f;
  }

  /**
   * Reads reply frames. The length prefix is checked before the body is read, so an oversized reply costs no memory:
   * only its request id is read, that request fails, and the process is recycled. Bytes that are not a frame kill
   * the process; its pending requests fail with the reason.
   */
  private void readLoop() {
    try (InputStream in = new BufferedInputStream(process.getInputStream(), 64 * 1024)) {
      while (true) {
        int first = in.read();
        if (first == -1) {
          break;
        }
        int length = CodedInputStream.readRawVarint32(first, in);
        if (length < 0) {
          throw new InvalidProtocolBufferException("negative frame length " + length);
        }
        if (length > maxReplyBytes) {
          long id = requestIdOf(in.readNBytes(Math.min(length, 11)));
          kill("the model's output of " + length + " bytes is larger than the limit of " + maxReplyBytes
              + " bytes; its sandbox is recycled");
          CompletableFuture<SandboxReply> f = pending.remove(id);
          if (f != null) {
            f.completeExceptionally(new OversizedReply(fault));
          }
          break;
        }
        byte[] body = in.readNBytes(length);
        if (body.length < length) {
          break;
        }
        SandboxReply reply = SandboxReply.parseFrom(body);
        if (reply.hasChunk()) {
          var chunks = streams.get(reply.getId());
          if (chunks != null) {
            chunks.accept(reply.getChunk().getText());
          }
          continue;
        }
        CompletableFuture<SandboxReply> f = pending.remove(reply.getId());
        if (f != null) {
          f.complete(reply);
        }
      }
    } catch (InvalidProtocolBufferException e) {
      LOG.info("Sandbox process {} wrote output that is not a reply: {}", process.pid(), e.getMessage());
      kill("the sandbox wrote output that is not a reply; it is recycled");
    } catch (IOException e) {
      // the stream broke: the process is gone or going
    }
    if (!closed) {
      // a program that closed its output is exiting: its own status says why (a launcher may still be reaping
      // it, and killing the launcher then would turn that status into 137); one that lingers is killed
      process.onExit().orTimeout(2, TimeUnit.SECONDS).exceptionally(lingering -> {
        destroyForcibly();
        return null;
      });
    }
    failAll(fault.isEmpty() ? "the sandbox process closed its output" : fault);
  }

  /** The id of a reply from the first bytes of its frame (field 1 comes first), or -1. */
  static long requestIdOf(byte[] head) {
    try {
      CodedInputStream c = CodedInputStream.newInstance(head);
      return c.readTag() == 8 ? c.readInt64() : -1;
    } catch (IOException e) {
      return -1;
    }
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
    stop().join();
  }

  /**
   * Stops the process without blocking the caller (an actor stopping, say): closes its input (it exits on EOF) and
   * kills it if it has not exited 2 s later; every pending call fails at once.
   */
  public CompletableFuture<Void> stop() {
    closed = true;
    try {
      toChild.close();
    } catch (IOException ignored) {
      // already gone
    }
    failAll("sandbox stopped");
    return process.onExit().orTimeout(2, TimeUnit.SECONDS).handle((p, timeout) -> {
      if (timeout != null) {
        destroyForcibly();
      }
      return null;
    });
  }
}
