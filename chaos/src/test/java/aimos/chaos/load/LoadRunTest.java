package aimos.chaos.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

class LoadRunTest {
  @Test
  void everyCallOfARunGetsItsOwnNumberAcrossWarmUpAndMeasurement() {
    Set<Integer> seen = ConcurrentHashMap.newKeySet();
    int[] duplicates = {0};
    LoadResult r = LoadRun.run("t", 4, Duration.ofMillis(200), Duration.ofMillis(300), i -> {
      if (!seen.add(i)) {
        synchronized (duplicates) {
          duplicates[0]++;
        }
      }
      return CompletableFuture.completedFuture(i);
    }, n -> { });
    assertEquals(0, duplicates[0]);
    assertTrue(r.ok() > 0 && seen.size() > r.ok(), "warm-up calls are numbered too");
  }

  /**
   * A sweep runs one phase per concurrency with the same call: every phase numbered its calls from 1 again, so the
   * load command's request ids repeated and the later phases were partly answered as replays (and, past the tenant's
   * window of remembered ids, billed again under an id already billed).
   */
  @Test
  void noCallOfALaterRunGetsANumberAnEarlierRunGave() {
    Set<Integer> first = ConcurrentHashMap.newKeySet();
    LoadRun.run("phase 1", 1, Duration.ZERO, Duration.ofMillis(100), i -> {
      first.add(i);
      return CompletableFuture.completedFuture(i);
    }, n -> { });
    Set<Integer> again = ConcurrentHashMap.newKeySet();
    LoadRun.run("phase 2", 8, Duration.ofMillis(50), Duration.ofMillis(100), i -> {
      if (first.contains(i)) {
        again.add(i);
      }
      return CompletableFuture.completedFuture(i);
    }, n -> { });
    assertTrue(first.size() > 0);
    assertEquals(0, again.size(), "numbers given out again, among them " + again.stream().sorted().limit(5).toList());
  }

  @Test
  void countsFailuresByKindAndComputesPercentiles() {
    LoadResult r = LoadRun.run("t", 2, Duration.ZERO, Duration.ofMillis(200),
        i -> i % 2 == 0 ? CompletableFuture.failedFuture(new IllegalStateException("x"))
            : CompletableFuture.completedFuture(i), n -> { });
    assertTrue(r.failed() > 0);
    assertEquals(Set.of("IllegalStateException"), r.failures().keySet());
    assertTrue(r.percentileMillis(50) <= r.percentileMillis(99));
  }

  @Test
  void parsesDurationsAndRefusesNonsense() {
    assertEquals(Duration.ofSeconds(20), LoadCommand.duration("20s"));
    assertEquals(Duration.ofMillis(500), LoadCommand.duration("500ms"));
    assertEquals(Duration.ofMinutes(2), LoadCommand.duration("2m"));
    var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> LoadCommand.duration("soon"));
    assertTrue(e.getMessage().contains("20s"));
  }
}
