package aimos.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real en-us trigram model: deterministic, context-driven, metered in cl100k tokens, bounded by max_tokens. */
class TrigramLmRuntimeTest {
  private static final Encoding CL100K = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  private static TrigramLmRuntime lm;

  @BeforeAll
  static void load() {
    lm = new TrigramLmRuntime();
  }

  private static SandboxReply run(String prompt, int maxTokens) {
    SandboxReply.Builder reply = SandboxReply.newBuilder();
    lm.run(SandboxRequest.newBuilder().setText(TextJob.newBuilder().setPrompt(prompt).setMaxTokens(maxTokens))
        .build(), reply);
    return reply.build();
  }

  @Test
  void continuesThePromptWithTheModelsMostLikelyWords() {
    // "new york" is followed by "city" more than by anything else in English news text
    String completion = run("I flew to New York", 16).getText().getCompletion();
    assertTrue(completion.startsWith("city"), completion);
    assertEquals(completion, run("I flew to New York", 16).getText().getCompletion(), "greedy decoding is deterministic");
    assertNotEquals(completion, run("the weather today", 16).getText().getCompletion(), "the context matters");
  }

  @Test
  void countsTokensWithCl100kAndStopsAtMaxTokens() {
    String prompt = "I flew to New York";
    SandboxReply full = run(prompt, 64);
    String completion = full.getText().getCompletion();
    assertEquals(CL100K.countTokens(prompt), full.getText().getPromptTokens());
    assertEquals(CL100K.countTokens(completion), full.getText().getCompletionTokens());
    long n = full.getText().getCompletionTokens();
    assertTrue(n >= 2, completion);
    // a lower limit cuts the same text at a word boundary within the limit
    SandboxReply cut = run(prompt, (int) n - 1);
    assertTrue(cut.getText().getCompletionTokens() <= n - 1, cut.toString());
    assertTrue(completion.startsWith(cut.getText().getCompletion()), cut + " vs " + completion);
  }

  @Test
  void streamsWordByWordAndThePiecesMakeTheCompletion() {
    List<String> pieces = new ArrayList<>();
    lm.generate("stock prices rose", 20, pieces::add);
    assertTrue(pieces.size() >= 5, pieces.toString());
    assertEquals(String.join("", pieces), run("stock prices rose", 20).getText().getCompletion());
  }

  @Test
  void refusesBadInput() {
    assertThrows(IllegalArgumentException.class, () -> run("   ", 5));
    assertThrows(IllegalArgumentException.class, () -> run("hello", 5000));
  }
}
