package aimos.chaos.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The drill client's retry schedule and how a tenant's unavailability is read from its attempts. */
class DrillClientTest {
  private static final long S = 1_000_000_000L;

  @Test
  void backoffDoublesFromHalfASecondUpToEightWithAtMostAQuarterOfJitter() {
    assertEquals(500, DrillRun.Backoff.delayMillis(2, 0));
    assertEquals(1000, DrillRun.Backoff.delayMillis(3, 0));
    assertEquals(2000, DrillRun.Backoff.delayMillis(4, 0));
    assertEquals(8000, DrillRun.Backoff.delayMillis(6, 0));
    assertEquals(8000, DrillRun.Backoff.delayMillis(40, 0));
    assertEquals(375, DrillRun.Backoff.delayMillis(2, 1.0));
    for (int attempt = 2; attempt < 12; attempt++) {
      long d = DrillRun.Backoff.delayMillis(attempt, 0.5);
      assertTrue(d >= 0.75 * DrillRun.Backoff.delayMillis(attempt, 0) && d <= DrillRun.Backoff.MAX_MILLIS, "" + d);
    }
    // within the 20 s budget a request gets 6 attempts when each fails at once: waits of 0.5, 1, 2, 4 and 8 s
    long waits = 0;
    int attempts = 1;
    while (waits + DrillRun.Backoff.delayMillis(attempts + 1, 0) < DrillRun.Backoff.BUDGET.toMillis()) {
      waits += DrillRun.Backoff.delayMillis(++attempts, 0);
    }
    assertEquals(6, attempts);
  }

  @Test
  void aTenantIsUnavailableForTheLongestGapBetweenTwoAnswers() {
    List<DrillRun.Attempt> attempts = new java.util.ArrayList<>(List.of(
        new DrillRun.Attempt("a", 0, S / 10, true),
        // a node that is down refuses at once; the next node answers: no gap
        new DrillRun.Attempt("a", S, S + S / 100, false),
        new DrillRun.Attempt("a", S + S / 2, S + 6 * S / 10, true),
        // the tenant's entity is recovering elsewhere: no answer from 2.0 s to 7.6 s
        new DrillRun.Attempt("a", 2 * S, 2 * S + S / 10, true),
        new DrillRun.Attempt("a", 3 * S, 8 * S, false),
        new DrillRun.Attempt("a", 7 * S, 7 * S + S / 2 + S / 10, true),
        new DrillRun.Attempt("a", 8 * S, 8 * S + S / 10, true),
        new DrillRun.Attempt("b", S, 2 * S, true),
        new DrillRun.Attempt("b", 2 * S, 2 * S + S / 2, true),
        // failed after its last answer: at least until its last attempt ended
        new DrillRun.Attempt("c", S, 2 * S, true),
        new DrillRun.Attempt("c", 3 * S, 4 * S, false),
        new DrillRun.Attempt("c", 4 * S, 9 * S / 2, false),
        // never answered
        new DrillRun.Attempt("d", S, 2 * S, false)));
    Map<String, Double> out = DrillRun.unavailableSeconds(List.of("a", "b", "c", "d"), attempts);
    assertEquals(Map.of("a", 5.5, "b", 0.5, "c", 2.5, "d", -1.0), out);
  }

  @Test
  void aGatewayThatRefusedAConnectionIsSkippedForAWhileUnlessAllDid() {
    var gateways = new DrillRun.Gateways<>(List.of("node-1", "node-2", "node-3"));
    long now = 1_000 * S;
    assertEquals(1, gateways.pick(1, now));
    assertEquals("node-2", gateways.member(1));
    // each attempt's turn goes round the members
    assertEquals(0, gateways.pick(3, now));
    gateways.refused(1, now);
    assertEquals(2, gateways.pick(1, now + S));
    assertEquals(0, gateways.pick(0, now + S));
    // back in the rotation once the ejection is over
    assertEquals(1, gateways.pick(1, now + DrillRun.Gateways.EJECTED.toNanos() + 1));
    gateways.refused(0, now);
    gateways.refused(2, now);
    gateways.refused(1, now);
    assertEquals(2, gateways.pick(2, now + S));
  }

  /**
   * After a node drill every node is tried again over a fresh client of its own. Those attempts once shared the
   * load's three-gateway health with a one-client list: with gateway 0 ejected they picked index 1 of a list of one
   * (IndexOutOfBoundsException, "Index: 1 Size: 1", out of the drill). Each set now picks among its own members.
   */
  @Test
  void aSetOfOneAlwaysPicksItsOnlyMemberWhateverAnotherSetRefused() {
    var load = new DrillRun.Gateways<>(List.of("node-1", "node-2", "node-3"));
    long now = 1_000 * S;
    load.refused(0, now);
    var fresh = new DrillRun.Gateways<>(List.of("fresh node-1"));
    for (int turn = 0; turn < 4; turn++) {
      assertEquals("fresh node-1", fresh.member(fresh.pick(turn, now + S)));
    }
    fresh.refused(0, now);
    assertEquals(0, fresh.pick(1, now + S), "a set whose every member refused still tries one of them");
    assertEquals(1, load.pick(0, now + S));
  }
}
