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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Entry point of a sandbox worker process. It reads requests from stdin, runs them on a few threads and writes
 * replies to stdout; anything the model prints goes to stderr. It exits when its parent closes stdin.
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
    OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 64 * 1024);
    System.setOut(System.err);
    ModelRuntime runtime = ModelRuntimes.create(args[0]);
    int threads = Integer.parseInt(args[1]);
    ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "model");
      t.setDaemon(true);
      return t;
    });
    InputStream in = new BufferedInputStream(new FileInputStream(FileDescriptor.in), 64 * 1024);
    long pid = ProcessHandle.current().pid();
    while (true) {
      SandboxRequest req = SandboxRequest.parseDelimitedFrom(in);
      if (req == null) {
        break;
      }
      if (req.getFault() != Fault.FAULT_NONE) {
        misbehave(req, out, pool, runtime);
      } else if (req.hasPing()) {
        write(out, SandboxReply.newBuilder().setId(req.getId())
            .setPong(Pong.newBuilder().setRuntime(runtime.name()).setPid(pid)).build());
      } else {
        pool.execute(() -> write(out, handle(runtime, req, out)));
      }
    }
    System.exit(0);
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
