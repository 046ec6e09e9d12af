package aimos.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import org.junit.jupiter.api.Test;

class EchoTextRuntimeTest {
  private final EchoTextRuntime runtime = new EchoTextRuntime();

  private SandboxReply run(String prompt, int maxTokens) {
    SandboxReply.Builder b = SandboxReply.newBuilder();
    runtime.run(SandboxRequest.newBuilder().setText(TextJob.newBuilder().setPrompt(prompt).setMaxTokens(maxTokens))
        .build(), b);
    return b.build();
  }

  @Test
  void answersDeterministicallyAndCountsCl100kTokens() {
    var r = run("hello world", 0);
    assertEquals("world hello", r.getText().getCompletion());
    // cl100k_base: "hello", " world" / "world", " hello"
    assertEquals(2, r.getText().getPromptTokens());
    assertEquals(2, r.getText().getCompletionTokens());
    assertEquals(r, run("hello world", 0));
  }

  @Test
  void cutsTheCompletionAtMaxTokens() {
    var r = run("one two three four five six seven eight", 3);
    assertEquals(3, r.getText().getCompletionTokens());
    assertEquals("eight seven six", r.getText().getCompletion());
  }

  @Test
  void refusesEmptyPromptsAndAbsurdLimits() {
    var e = assertThrows(InvalidInputException.class, () -> run("   ", 0));
    assertTrue(e.getMessage().contains("empty"));
    assertThrows(InvalidInputException.class, () -> run("hi", 100_000));
    assertThrows(InvalidInputException.class, () -> run("hi", -1));
  }
}
