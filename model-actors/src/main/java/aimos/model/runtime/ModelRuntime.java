package aimos.model.runtime;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;

/**
 * A model implementation, run inside a sandbox process. Throws {@link InvalidInputException} for input it refuses
 * (its message goes to the caller) and {@link ModelFailedException} for a failure it explains itself; anything else
 * it throws is logged and the caller only learns that the model failed.
 */
public interface ModelRuntime {
  String name();

  void run(SandboxRequest request, SandboxReply.Builder reply);

  /**
   * Runs a request whose text is wanted piece by piece: each piece goes to {@code chunks} as soon as it exists, and
   * the reply still holds the whole result. A runtime that cannot stream produces everything first.
   */
  default void run(SandboxRequest request, SandboxReply.Builder reply, java.util.function.Consumer<String> chunks) {
    run(request, reply);
    if (reply.hasText() && !reply.getText().getCompletion().isEmpty()) {
      chunks.accept(reply.getText().getCompletion());
    }
  }
}
