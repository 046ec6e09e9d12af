package aimos.node.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

class AskAgainTest {
  private static final BiConsumer<Duration, Runnable> LATER =
      (delay, task) -> CompletableFuture.delayedExecutor(delay.toNanos(), TimeUnit.NANOSECONDS).execute(task);

  /** An entity that never answers: its ask fails with a timeout after the wait it was given. */
  private static CompletableFuture<String> lost(Duration wait) {
    return new CompletableFuture<String>().orTimeout(wait.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Members that come and go when the test says so. */
  private static final class Members implements AskAgain.Losses {
    final AtomicLong changes = new AtomicLong();
    /** Members come and go all the time. */
    volatile boolean changing;

    @Override
    public long mark() {
      return changes.get();
    }

    @Override
    public boolean since(long mark) {
      return changing || changes.get() != mark;
    }
  }

  @Test
  void withoutSignsOfLossASlowEntityIsAskedOnceAndItsLateAnswerCounts() throws Exception {
    List<Duration> waits = new CopyOnWriteArrayList<>();
    String answer = AskAgain.<String>ask(wait -> {
      waits.add(wait);
      return CompletableFuture.supplyAsync(() -> "admitted",
          CompletableFuture.delayedExecutor(150, TimeUnit.MILLISECONDS));
    }, Duration.ofMillis(10), Duration.ofSeconds(5), LATER, new Members(), (winner, late) -> { })
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals("admitted", answer);
    assertEquals(List.of(Duration.ofSeconds(5)), waits);
  }

  @Test
  void anAskLostToANodeThatWentIsAskedAgainAndThatAnswerWins() throws Exception {
    Members members = new Members();
    List<Duration> waits = new CopyOnWriteArrayList<>();
    String answer = AskAgain.<String>ask(wait -> {
      waits.add(wait);
      if (waits.size() == 1) {
        // the tenant's node dies with this message: the others remove it
        members.changes.incrementAndGet();
        return lost(wait);
      }
      return CompletableFuture.completedFuture("admitted");
    }, Duration.ofMillis(20), Duration.ofSeconds(5), LATER, members, (winner, late) -> { }).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals("admitted", answer);
    assertEquals(2, waits.size());
    // the second ask waits only for what is left of the whole time
    assertTrue(waits.get(1).compareTo(Duration.ofSeconds(5)) < 0, waits::toString);
  }

  @Test
  void aLateAnswerIsHandedBackWithTheWinnerToGiveBackWhatItHolds() throws Exception {
    Members members = new Members();
    List<CompletableFuture<String>> asks = new CopyOnWriteArrayList<>();
    List<String> late = new CopyOnWriteArrayList<>();
    var answer = AskAgain.<String>ask(wait -> {
      CompletableFuture<String> reply = new CompletableFuture<>();
      asks.add(reply);
      members.changes.incrementAndGet();
      return reply;
    }, Duration.ofMillis(20), Duration.ofSeconds(5), LATER, members, (winner, l) -> late.add(winner + "<" + l))
        .toCompletableFuture();
    // asked again after a member went; the second answers first, then the first answers too
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (asks.size() < 2 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertTrue(asks.size() >= 2, "asked again after a member went");
    asks.get(1).complete("lease-2");
    assertEquals("lease-2", answer.get(10, TimeUnit.SECONDS));
    asks.get(0).complete("lease-1");
    assertEquals(List.of("lease-2<lease-1"), late);
  }

  @Test
  void whileMembersKeepChangingItAsksAgainUntilTheTimeIsUpThenFailsWithTheTimeout() {
    Members members = new Members();
    members.changing = true;
    List<Duration> waits = new CopyOnWriteArrayList<>();
    Duration total = Duration.ofMillis(300);
    var failure = assertThrows(ExecutionException.class, () -> AskAgain.<String>ask(wait -> {
      waits.add(wait);
      return lost(wait);
    }, Duration.ofMillis(50), total, LATER, members, (winner, late) -> { }).toCompletableFuture().get(10, TimeUnit.SECONDS));
    assertInstanceOf(TimeoutException.class, failure.getCause());
    assertTrue(waits.size() >= 3, () -> "asked " + waits.size() + " times");
    waits.forEach(w -> assertTrue(w.compareTo(total) <= 0, waits::toString));
  }
}
