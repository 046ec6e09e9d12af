package aimos.node.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class KnownNamesTest {
  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A directory that counts the fetches it answers and gives names from an offset in pages of two. */
  private static final class Directory {
    final List<String> names = new CopyOnWriteArrayList<>();
    final AtomicInteger fetches = new AtomicInteger();

    CompletableFuture<KnownNames.Page> since(int offset) {
      fetches.incrementAndGet();
      List<String> page = names.subList(Math.min(offset, names.size()), Math.min(offset + 2, names.size()));
      return CompletableFuture.completedFuture(new KnownNames.Page(List.copyOf(page), offset + page.size(),
          names.size()));
    }
  }

  private static KnownNames known(Directory d, Duration interval) {
    return new KnownNames(d::since, testKit.system().scheduler(), testKit.system().executionContext(), interval);
  }

  @Test
  void findsANameListedBeforeItWasAskedForAndAsksNothingOnceItIsKnown() {
    Directory d = new Directory();
    KnownNames names = known(d, Duration.ofMillis(20));
    assertFalse(names.contains("acme").toCompletableFuture().join());
    d.names.addAll(List.of("a", "b", "c", "d", "acme"));
    assertTrue(names.contains("acme").toCompletableFuture().join());
    int fetched = d.fetches.get();
    assertTrue(names.contains("acme").toCompletableFuture().join());
    assertTrue(names.contains("c").toCompletableFuture().join());
    assertEquals(fetched, d.fetches.get(), "known names are answered here");
    assertTrue(names.knownHere("b"));
  }

  @Test
  void unknownNamesCostABoundedNumberOfFetchesHoweverManyArrive() {
    Directory d = new Directory();
    Duration interval = Duration.ofMillis(100);
    KnownNames names = known(d, interval);
    long started = System.nanoTime();
    List<CompletableFuture<Boolean>> asks = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      asks.add(names.contains("made-up-" + i).toCompletableFuture());
    }
    asks.forEach(a -> assertFalse(a.join()));
    long elapsedIntervals = (System.nanoTime() - started) / interval.toNanos();
    assertTrue(d.fetches.get() <= elapsedIntervals + 2, d.fetches.get() + " fetches in " + elapsedIntervals
        + " intervals");
  }

  @Test
  void aDirectoryThatDoesNotAnswerFailsTheLookupAndALaterOneSucceeds() {
    AtomicInteger calls = new AtomicInteger();
    KnownNames names = new KnownNames(offset -> calls.incrementAndGet() == 1
        ? CompletableFuture.failedFuture(new RuntimeException("directory down"))
        : CompletableFuture.completedFuture(new KnownNames.Page(List.of("acme"), 1, 1)),
        testKit.system().scheduler(), testKit.system().executionContext(), Duration.ofMillis(10));
    assertThrows(Exception.class, () -> names.contains("acme").toCompletableFuture().join());
    assertTrue(names.contains("acme").toCompletableFuture().join());
  }
}
