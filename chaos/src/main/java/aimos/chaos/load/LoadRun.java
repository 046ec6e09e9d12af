package aimos.chaos.load;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import java.util.function.LongConsumer;

/**
 * A closed-loop load: {@code concurrency} callers, each sending its next request when the previous one answered,
 * for a fixed duration after a warm-up. Bounded in time, so it always stops by itself.
 */
public final class LoadRun {
  private LoadRun() {}

  /**
   * One call; the argument is a sequence number no other call in this process got, whatever run or phase it was in
   * (the load command builds its request ids from it: a number seen twice would be a replay, not an inference).
   */
  public interface Call extends IntFunction<CompletionStage<?>> {}

  /** Numbers every call of every run: a sweep's phases, each a run, share one request-id space. */
  private static final AtomicLong NUMBERS = new AtomicLong();

  public static LoadResult run(String name, int concurrency, Duration warmup, Duration duration, Call call,
                               LongConsumer progressEverySecond) {
    return run(name, concurrency, warmup, duration, call, progressEverySecond, () -> { });
  }

  /** As above; {@code measuring} runs once the warm-up is over, right before the measured phase. */
  public static LoadResult run(String name, int concurrency, Duration warmup, Duration duration, Call call,
                               LongConsumer progressEverySecond, Runnable measuring) {
    if (warmup.toMillis() > 0) {
      drive(concurrency, warmup, call, new Recorder(false), s -> { });
    }
    measuring.run();
    Recorder rec = new Recorder(true);
    long start = System.nanoTime();
    drive(concurrency, duration, call, rec, progressEverySecond);
    double seconds = (System.nanoTime() - start) / 1e9;
    return LoadResult.of(name, rec.failed.get(), rec.failures, seconds, rec.latencies);
  }

  private static final class Recorder {
    final boolean keep;
    final AtomicLong failed = new AtomicLong();
    final Map<String, Long> failures = new ConcurrentHashMap<>();
    final aimos.chaos.stats.Latencies latencies = new aimos.chaos.stats.Latencies();

    Recorder(boolean keep) {
      this.keep = keep;
    }

    void ok(long nanos) {
      if (keep) {
        latencies.record(nanos);
      }
    }

    long count() {
      return latencies.count();
    }

    void failed(Throwable t) {
      if (!keep) {
        return;
      }
      failed.incrementAndGet();
      Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
      String key = c instanceof io.grpc.StatusRuntimeException s ? s.getStatus().getCode().name() : c.getClass().getSimpleName();
      failures.merge(key, 1L, Long::sum);
    }

  }

  private static void drive(int concurrency, Duration duration, Call call, Recorder rec, LongConsumer progress) {
    long deadline = System.nanoTime() + duration.toNanos();
    AtomicBoolean stop = new AtomicBoolean();
    CompletableFuture<?>[] loops = new CompletableFuture<?>[concurrency];
    for (int i = 0; i < concurrency; i++) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      loops[i] = done;
      next(call, rec, stop, deadline, done);
    }
    long nextReport = System.nanoTime() + 1_000_000_000L;
    while (System.nanoTime() < deadline) {
      long sleep = Math.min(deadline, nextReport) - System.nanoTime();
      if (sleep > 0) {
        try {
          Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      if (System.nanoTime() >= nextReport) {
        progress.accept(rec.count());
        nextReport += 1_000_000_000L;
      }
    }
    stop.set(true);
    CompletableFuture.allOf(loops).orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).exceptionally(e -> null).join();
  }

  /**
   * One caller's loop. A call that is already complete when it returns is handled in the loop, not by recursion, so
   * synchronous calls cannot overflow the stack; the deadline is checked here too, since such calls never yield.
   */
  private static void next(Call call, Recorder rec, AtomicBoolean stop, long deadline,
                           CompletableFuture<Void> done) {
    while (!stop.get() && System.nanoTime() < deadline) {
      long t0 = System.nanoTime();
      CompletableFuture<?> f;
      try {
        f = call.apply((int) NUMBERS.incrementAndGet()).toCompletableFuture();
      } catch (RuntimeException e) {
        f = CompletableFuture.failedFuture(e);
      }
      if (!f.isDone()) {
        f.whenComplete((r, err) -> {
          record(rec, t0, err);
          next(call, rec, stop, deadline, done);
        });
        return;
      }
      Throwable err = null;
      try {
        f.join();
      } catch (RuntimeException e) {
        err = e.getCause() != null ? e.getCause() : e;
      }
      record(rec, t0, err);
    }
    done.complete(null);
  }

  private static void record(Recorder rec, long t0, Throwable err) {
    if (err == null) {
      rec.ok(System.nanoTime() - t0);
    } else {
      rec.failed(err);
    }
  }

}
