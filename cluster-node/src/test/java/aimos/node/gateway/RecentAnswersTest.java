package aimos.node.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferResponse;
import aimos.api.v1.TextOutput;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RecentAnswersTest {
  private static InferResponse output(String text) {
    return InferResponse.newBuilder().setText(TextOutput.newBuilder().setCompletion(text)).build();
  }

  @Test
  void aRetryOfTheSameInputGetsTheOutputAndNothingElseDoes() {
    RecentAnswers answers = new RecentAnswers(1 << 20, Duration.ofMinutes(10));
    assertEquals(Optional.empty(), answers.find("acme", "r-1", "fp"), "nothing kept yet");
    answers.keep("acme", "r-1", "fp", output("dlrow olleh"));
    assertEquals(Optional.of(output("dlrow olleh")), answers.find("acme", "r-1", "fp"));
    assertEquals(Optional.empty(), answers.find("acme", "r-1", "another input"));
    assertEquals(Optional.empty(), answers.find("globex", "r-1", "fp"), "another tenant's request id");
    assertEquals(Optional.empty(), answers.find("acme", "r-2", "fp"));
    answers.keep("acme", "r-1", "fp", output("again"));
    assertEquals(Optional.of(output("again")), answers.find("acme", "r-1", "fp"), "the latest answer wins");
  }

  @Test
  void theRingGrowsWithUseUpToTheBudgetKeepingWhatItHolds() {
    RecentAnswers answers = new RecentAnswers(1 << 20, Duration.ofMinutes(10));
    assertEquals(0, answers.ringBytes(), "nothing held before the first answer");
    answers.keep("acme", "first", "fp", output("the first answer"));
    assertEquals(64 * 1024, answers.ringBytes());
    for (int i = 0; i < 20_000; i++) {
      answers.keep("acme", "r-" + i, "fp", output("completion number " + i));
    }
    assertEquals(1 << 20, answers.ringBytes(), "never more than the budget");
    // 1 MiB holds the newest ~19,000 of these 55-byte answers; nearly all are found under their own ids
    int found = 0;
    for (int i = 0; i < 20_000; i++) {
      found += answers.find("acme", "r-" + i, "fp").isPresent() ? 1 : 0;
    }
    assertTrue(found > 18_000 && found == answers.size(), found + " found, " + answers.size() + " kept");
    assertEquals(Optional.of(output("completion number 19999")), answers.find("acme", "r-19999", "fp"));
    assertEquals(Optional.of(output("completion number 10000")), answers.find("acme", "r-10000", "fp"));
    assertEquals(Optional.empty(), answers.find("acme", "first", "fp"), "the oldest went first");

    RecentAnswers growing = new RecentAnswers(1 << 20, Duration.ofMinutes(10));
    java.util.List<Integer> foundBefore = new java.util.ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      growing.keep("acme", "r-" + i, "fp", output("completion number " + i));
    }
    for (int i = 0; i < 1_000; i++) {
      if (growing.find("acme", "r-" + i, "fp").isPresent()) {
        foundBefore.add(i);
      }
    }
    assertEquals(64 * 1024, growing.ringBytes());
    assertTrue(foundBefore.size() > 950, foundBefore.size() + " of 1,000 found");
    // one answer that does not fit in what is left makes the ring grow, once
    growing.keep("acme", "big", "fp", output("x".repeat(20_000)));
    assertEquals(128 * 1024, growing.ringBytes());
    assertEquals(Optional.of(output("x".repeat(20_000))), growing.find("acme", "big", "fp"));
    for (int i : foundBefore) {
      assertEquals(Optional.of(output("completion number " + i)), growing.find("acme", "r-" + i, "fp"),
          "answer " + i + " survives the ring's growth");
    }
  }

  @Test
  void anExpiredAnswerIsNotGiven() {
    RecentAnswers answers = new RecentAnswers(1 << 20, Duration.ZERO);
    answers.keep("acme", "r-1", "fp", output("x"));
    assertEquals(Optional.empty(), answers.find("acme", "r-1", "fp"));
  }

  @Test
  void theOldestGoFirstWhenTheBytesAreSpent() {
    RecentAnswers answers = new RecentAnswers(16 * 1024, Duration.ofMinutes(10));
    for (int i = 0; i < 2_000; i++) {
      answers.keep("acme", "r-" + i, "fp-" + i, output("completion number " + i));
    }
    assertEquals(Optional.of(output("completion number 1999")), answers.find("acme", "r-1999", "fp-1999"));
    assertEquals(Optional.empty(), answers.find("acme", "r-0", "fp-0"), "overwritten long ago");
    int kept = 0;
    for (int i = 0; i < 2_000; i++) {
      if (answers.find("acme", "r-" + i, "fp-" + i).isPresent()) {
        kept++;
        assertEquals(Optional.of(output("completion number " + i)), answers.find("acme", "r-" + i, "fp-" + i));
      }
    }
    // about 60 bytes each in 16 KiB: the newest couple of hundred, never more than fit
    assertTrue(kept > 100 && kept <= 16 * 1024 / 50, kept + " kept");
    assertEquals(kept, answers.size());
  }

  @Test
  void aTableFullOfNewerAnswersForgetsTheOldestItProbes() {
    // 1 KiB of ring: 32 slots, fewer than the answers that fit
    RecentAnswers answers = new RecentAnswers(1024, Duration.ofMinutes(10));
    for (int i = 0; i < 500; i++) {
      answers.keep("t", "r" + i, "f", output(""));
    }
    assertTrue(answers.size() <= 32, answers.size() + " kept");
    assertEquals(Optional.of(output("")), answers.find("t", "r499", "f"), "the newest is always kept");
  }

  /**
   * Which answer a full table forgets: the oldest of the slots it probes. An answer kept again just before each new
   * one is the newest every time, so it is never the one forgotten, whichever slots the new ones probe (forgetting
   * the first slot probed instead lost it after 805 new answers).
   */
  @Test
  void theAnswerForgottenIsNeverTheNewestOfThoseProbed() {
    // 1 KiB of ring: 32 slots, about 40 of these answers: the table is full from the first lap on
    RecentAnswers answers = new RecentAnswers(1024, Duration.ofMinutes(10));
    for (int i = 0; i < 2_000; i++) {
      answers.keep("t", "asked-again", "f", output(""));
      answers.keep("t", "r" + i, "f", output(""));
      assertEquals(Optional.of(output("")), answers.find("t", "asked-again", "f"), "forgotten after r" + i);
    }
  }

  @Test
  void anAnswerOverASixteenthOfTheBudgetOrNoBudgetKeepsNothing() {
    RecentAnswers small = new RecentAnswers(1024, Duration.ofMinutes(10));
    small.keep("acme", "big", "fp", output("x".repeat(100)));
    assertEquals(Optional.empty(), small.find("acme", "big", "fp"));
    RecentAnswers off = new RecentAnswers(0, Duration.ofMinutes(10));
    off.keep("acme", "r-1", "fp", output("x"));
    assertEquals(Optional.empty(), off.find("acme", "r-1", "fp"));
    assertEquals(0, off.size());
  }
}
