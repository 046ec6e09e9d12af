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
    // 1 KiB of ring: 16 slots, far fewer than the answers that fit
    RecentAnswers answers = new RecentAnswers(1024, Duration.ofMinutes(10));
    for (int i = 0; i < 500; i++) {
      answers.keep("t", "r" + i, "f", output(""));
    }
    assertTrue(answers.size() <= 16, answers.size() + " kept");
    assertEquals(Optional.of(output("")), answers.find("t", "r499", "f"), "the newest is always kept");
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
