package aimos.model.sandbox;

import aimos.internal.sandbox.Fault;
import aimos.internal.sandbox.Pong;
import aimos.internal.sandbox.SandboxError;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.TextChunk;
import aimos.internal.sandbox.SandboxRequest;
import aimos.model.runtime.InvalidInputException;
import aimos.model.runtime.ModelFailedException;
import aimos.model.runtime.ModelRuntime;
import aimos.model.runtime.ModelRuntimes;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Entry point of a sandbox worker process. It reads requests from stdin, runs them on a few threads and writes
 * replies to stdout; anything the model prints goes to stderr. Health pings are answered by a thread of their own.
 * It exits when its parent closes stdin.
 */
public final class SandboxMain {
  /** What the caller learns of a model failure the runtime did not explain itself. */
  static final String MODEL_FAILED = "the model failed on this input";

  private SandboxMain() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: SandboxMain <runtime> <threads>");
      System.exit(2);
    }
    serve(() -> create(args[0]), Integer.parseInt(args[1]));
  }

  /**
   * Serves requests with the runtime that {@code make} makes ({@link #create} for model versions; the containment
   * drill's probe has a main of its own) on {@code threads} model threads, until the parent closes stdin. The runtime
   * is made after stdout is taken over, so that nothing it prints can corrupt the reply frames.
   */
  static void serve(java.util.function.Supplier<ModelRuntime> make, int threads) throws IOException {
    OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 64 * 1024);
    System.setOut(System.err);
    ModelRuntime runtime = make.get();
    // model threads yield to the reader and the ping thread (the JVM maps priorities to nice values with
    // -XX:ThreadPriorityPolicy=1, which the node passes), so a sandbox busy on every model thread still answers
    ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "model");
      t.setDaemon(true);
      t.setPriority(Thread.MIN_PRIORITY);
      return t;
    });
    Thread.currentThread().setPriority(Thread.MAX_PRIORITY);
    BlockingQueue<Long> pings = new LinkedBlockingQueue<>();
    Thread pinger = new Thread(() -> answerPings(pings, out, runtime.name()), "ping");
    pinger.setDaemon(true);
    pinger.setPriority(Thread.MAX_PRIORITY);
    pinger.start();
    InputStream in = new BufferedInputStream(new FileInputStream(FileDescriptor.in), 64 * 1024);
    while (true) {
      SandboxRequest req = SandboxRequest.parseDelimitedFrom(in);
      if (req == null) {
        break;
      }
      if (req.getFault() != Fault.FAULT_NONE) {
        misbehave(req, out, pool, runtime);
      } else if (req.hasPing()) {
        pings.add(req.getId());
      } else {
        pool.execute(() -> write(out, handle(runtime, req, out)));
      }
    }
    System.exit(0);
  }

  /**
   * The runtime of this name: one of {@link ModelRuntimes}, or the class that {@code -Daimos.sandbox.extra-runtime=
   * NAME=CLASS} names for NAME (tests run fixtures this way; the node passes only its configured JVM options).
   */
  static ModelRuntime create(String name) {
    String extra = System.getProperty("aimos.sandbox.extra-runtime", "");
    int eq = extra.indexOf('=');
    if (eq > 0 && extra.substring(0, eq).equals(name)) {
      try {
        return Class.forName(extra.substring(eq + 1)).asSubclass(ModelRuntime.class).getConstructor().newInstance();
      } catch (ReflectiveOperationException e) {
        throw new IllegalArgumentException("runtime class " + extra.substring(eq + 1) + " cannot be made: " + e);
      }
    }
    return ModelRuntimes.create(name);
  }

  /** Answers health pings on a thread of their own: never behind a request, whatever the model threads do. */
  private static void answerPings(BlockingQueue<Long> pings, OutputStream out, String runtime) {
    long pid = ProcessHandle.current().pid();
    while (true) {
      long id;
      try {
        id = pings.take();
      } catch (InterruptedException e) {
        return;
      }
      write(out, SandboxReply.newBuilder().setId(id).setPong(Pong.newBuilder().setRuntime(runtime).setPid(pid))
          .build());
    }
  }

  /** Keeps a model thread computing until {@code millis} have passed, as a long decode does. */
  private static double compute(long millis) {
    long end = System.nanoTime() + millis * 1_000_000;
    double acc = 0;
    while (System.nanoTime() - end < 0) {
      for (int i = 1; i < 10_000; i++) {
        acc += Math.sqrt(i * acc + i);
      }
    }
    return acc;
  }

  /** Leaked memory is kept here so that nothing can collect it. */
  private static final java.util.List<long[]> LEAK = new java.util.ArrayList<>();

  /** Drills: misbehave the way the request asks, as a faulty model would. */
  private static void misbehave(SandboxRequest req, OutputStream out, ExecutorService pool, ModelRuntime runtime)
      throws IOException {
    switch (req.getFault()) {
      case CRASH -> Runtime.getRuntime().halt(134);
      case HANG -> {
        // stop reading and answering altogether, pings included
        try {
          Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      case LEAK_MEMORY -> pool.execute(() -> {
        while (true) {
          LEAK.add(new long[2 * 1024 * 1024]);
        }
      });
      case GARBAGE -> {
        synchronized (out) {
          byte[] junk = new byte[64];
          java.util.Arrays.fill(junk, (byte) 0xff);
          out.write(junk);
          out.flush();
        }
      }
      case SLOW -> pool.execute(() -> {
        try {
          Thread.sleep(req.getFaultDelayMs());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        write(out, handle(runtime, req, out));
      });
      case CPU_BUSY -> pool.execute(() -> {
        compute(req.getFaultDelayMs());
        write(out, handle(runtime, req, out));
      });
      case OVERSIZED -> write(out, SandboxReply.newBuilder().setId(req.getId())
          .setText(aimos.internal.sandbox.TextResult.newBuilder().setCompletion("x".repeat(4 * 1024 * 1024)))
          .build());
      default -> throw new IllegalStateException("unknown fault " + req.getFault());
    }
  }

  static SandboxReply handle(ModelRuntime runtime, SandboxRequest req, OutputStream out) {
    SandboxReply.Builder reply = SandboxReply.newBuilder().setId(req.getId());
    try {
      if (req.hasText() && req.getText().getStream()) {
        runtime.run(req, reply, piece -> write(out, SandboxReply.newBuilder().setId(req.getId())
            .setChunk(TextChunk.newBuilder().setText(piece)).build()));
      } else {
        runtime.run(req, reply);
      }
    } catch (InvalidInputException e) {
      reply.setError(SandboxError.newBuilder().setKind("INVALID_INPUT").setMessage(e.getMessage()));
    } catch (ModelFailedException e) {
      reply.setError(SandboxError.newBuilder().setKind("FAILED").setMessage(e.getMessage()));
    } catch (RuntimeException | StackOverflowError e) {
      // library text may describe internals or echo the input: it stays in this sandbox's log
      System.err.println("request " + req.getId() + " failed in the model:");
      e.printStackTrace();
      reply.setError(SandboxError.newBuilder().setKind("FAILED").setMessage(MODEL_FAILED));
    }
    return reply.build();
  }

  private static void write(OutputStream out, SandboxReply reply) {
    synchronized (out) {
      try {
        reply.writeDelimitedTo(out);
        out.flush();
      } catch (IOException e) {
        // the parent is gone
        System.exit(1);
      }
    }
  }
}
