package aimos.node.gateway;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Asks an idempotent question of a sharded entity, and asks it again while no answer has come if a message may have
 * been lost meanwhile. A message sent to a shard whose node was killed or cut off is lost, not delayed; once the split
 * brain resolver downs that node the shard starts on another one, and only a new ask reaches it there. Without such
 * a sign (a member that became unreachable, came or went since the last ask) nothing is asked again, so a slow entity
 * under load gets no extra messages. Every ask waits until the same end; the first answer wins, and each later answer
 * is handed to {@code late} with the winner, to give back what it holds (an admission or a lease granted to an ask
 * that arrived after the request was done). The question must be safe to ask twice (the same admission attempt, the
 * same lease holder, a recording by request id).
 */
final class AskAgain {
  private AskAgain() {}

  /** Signs that a message sent to another node may have been lost. */
  interface Losses {
    /** A mark to compare later signs with. */
    long mark();

    /** Whether a message sent at the mark may have been lost: a member became unreachable, came or went since. */
    boolean since(long mark);
  }

  /**
   * @param ask      sends the question once, failing (with a timeout) when no answer came in the given time
   * @param every    how often to look for signs of loss while waiting
   * @param total    how long to wait for an answer in all
   * @param later    runs a task after a delay (the actor system's scheduler)
   * @param late     gets (winner, later answer) for every answer after the first
   */
  static <T> CompletionStage<T> ask(Function<Duration, CompletionStage<T>> ask, Duration every, Duration total,
                                    BiConsumer<Duration, Runnable> later, Losses losses, BiConsumer<T, T> late) {
    long until = System.nanoTime() + total.toNanos();
    CompletableFuture<T> answer = new CompletableFuture<>();
    AtomicInteger outstanding = new AtomicInteger();
    long asked = losses.mark();
    send(ask, total, answer, outstanding, late);
    later.accept(every, new Runnable() {
      private long mark = asked;

      @Override
      public void run() {
        long left = until - System.nanoTime();
        if (answer.isDone() || left < every.toNanos() / 2) {
          return;
        }
        if (losses.since(mark)) {
          mark = losses.mark();
          send(ask, Duration.ofNanos(left), answer, outstanding, late);
        }
        later.accept(every, this);
      }
    });
    return answer;
  }

  private static <T> void send(Function<Duration, CompletionStage<T>> ask, Duration wait, CompletableFuture<T> answer,
                               AtomicInteger outstanding, BiConsumer<T, T> late) {
    outstanding.incrementAndGet();
    ask.apply(wait).whenComplete((value, err) -> {
      if (err == null) {
        if (!answer.complete(value)) {
          T winner = answer.getNow(null);
          if (winner != value) {
            late.accept(winner, value);
          }
        }
      } else if (outstanding.decrementAndGet() == 0) {
        answer.completeExceptionally(err);
      }
    });
  }
}
