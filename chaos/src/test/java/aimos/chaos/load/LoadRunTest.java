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
