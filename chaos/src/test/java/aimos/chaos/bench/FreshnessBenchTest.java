package aimos.chaos.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import aimos.chaos.bench.FreshnessBench.Poll;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FreshnessBenchTest {
  private static Poll poll(long sent, long done, long requests) {
    return new Poll(sent, done, requests, 0);
  }

  @Test
  void eachAnswerIsVisibleAtTheFirstLaterPollThatCountsIt() {
    // base 10: answers at 100, 105 and 300; the polls show 10, 11, 12 (at 250), 12, 13 (at 600)
    List<Poll> polls = List.of(poll(0, 50, 10), poll(60, 120, 11), poll(200, 250, 12), poll(260, 310, 12),
        poll(550, 600, 13));
    assertArrayEquals(new long[] {20, 145, 300}, FreshnessBench.freshness(new long[] {300, 105, 100}, polls, 10));
  }

  @Test
  void aPollCompletedBeforeTheAnswerDoesNotCount() {
    // the rollup is written before the answer reaches the client: visible at the first poll done after the answer
    List<Poll> polls = List.of(poll(0, 50, 1), poll(90, 140, 1));
    assertArrayEquals(new long[] {40}, FreshnessBench.freshness(new long[] {100}, polls, 0));
  }

  @Test
  void answersNeverShownAreMarked() {
    List<Poll> polls = List.of(poll(0, 200, 1), poll(200, 400, 1));
    assertArrayEquals(new long[] {100, -1}, FreshnessBench.freshness(new long[] {100, 150}, polls, 0));
  }

  @Test
  void percentilesAreNearestRankWithinTheHistogramsPrecision() {
    long[] sorted = new long[100];
    for (int i = 0; i < 100; i++) {
      sorted[i] = (i + 1) * 1_000_000L;
    }
    var s = FreshnessBench.Summary.of(sorted);
    assertEquals(50.0, s.p50(), 0.1);
    assertEquals(90.0, s.p90(), 0.1);
    assertEquals(99.0, s.p99(), 0.1);
    assertEquals(100.0, s.max(), 0.1);
    assertEquals(0, FreshnessBench.Summary.of(new long[0]).count());
  }

  @Test
  void badOptionsGetPreciseErrors() {
    assertEquals(Map.of("requests", "5", "rate", "2"), FreshnessBench.parse(new String[] {"--requests", "5",
        "--rate", "2"}));
    assertEquals("unknown option --rates", assertThrows(IllegalArgumentException.class,
        () -> FreshnessBench.parse(new String[] {"--rates", "2"})).getMessage());
    assertEquals("option --rate needs a value", assertThrows(IllegalArgumentException.class,
        () -> FreshnessBench.parse(new String[] {"--rate"})).getMessage());
    assertEquals("--rate must be a whole number from 1 to 10000, was '0'", assertThrows(
        IllegalArgumentException.class, () -> FreshnessBench.positive(Map.of("rate", "0"), "rate", 10, 10_000))
        .getMessage());
    assertEquals("--gateway must look like HOST:PORT, was 'localhost'", assertThrows(IllegalArgumentException.class,
        () -> FreshnessBench.hostPort("gateway", "localhost")).getMessage());
  }
}
