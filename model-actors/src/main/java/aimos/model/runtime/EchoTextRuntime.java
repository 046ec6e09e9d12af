package aimos.model.runtime;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextResult;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingResult;
import com.knuddels.jtokkit.api.EncodingType;

/**
 * A deterministic text model: it answers with the prompt's words in reverse order, cut to max_tokens. Prompt and
 * completion tokens are counted with the real cl100k_base tokenizer, so metering is exactly what a GPT-4-class
 * tokenizer would report for the same text.
 */
public final class EchoTextRuntime implements ModelRuntime {
  public static final String NAME = "echo-text";
  public static final int DEFAULT_MAX_TOKENS = 64;
  public static final int MAX_TOKENS_LIMIT = 4096;

  private final Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply) {
    if (!request.hasText()) {
      throw new InvalidInputException("runtime " + NAME + " takes text input");
    }
    String prompt = request.getText().getPrompt();
    int maxTokens = request.getText().getMaxTokens() == 0 ? DEFAULT_MAX_TOKENS : request.getText().getMaxTokens();
    if (prompt.isBlank()) {
      throw new InvalidInputException("prompt is empty");
    }
    if (maxTokens < 0 || maxTokens > MAX_TOKENS_LIMIT) {
      throw new InvalidInputException("max_tokens must be between 1 and " + MAX_TOKENS_LIMIT);
    }
    String completion = complete(prompt, maxTokens);
    reply.setText(TextResult.newBuilder()
        .setCompletion(completion)
        .setPromptTokens(encoding.countTokens(prompt))
        .setCompletionTokens(encoding.countTokens(completion)));
  }

  /** Streams the completion word by word (it is computed at once, so this only shapes the pieces). */
  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply, java.util.function.Consumer<String> chunks) {
    run(request, reply);
    String completion = reply.getText().getCompletion();
    java.util.regex.Matcher words = java.util.regex.Pattern.compile("\\s*\\S+").matcher(completion);
    while (words.find()) {
      chunks.accept(words.group());
    }
  }

  String complete(String prompt, int maxTokens) {
    String[] words = prompt.strip().split("\\s+");
    StringBuilder sb = new StringBuilder();
    for (int i = words.length - 1; i >= 0; i--) {
      if (sb.length() > 0) {
        sb.append(' ');
      }
      sb.append(words[i]);
    }
    EncodingResult cut = encoding.encode(sb.toString(), maxTokens);
    return cut.isTruncated() ? encoding.decode(cut.getTokens()) : sb.toString();
  }
}
