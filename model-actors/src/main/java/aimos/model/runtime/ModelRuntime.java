package aimos.model.runtime;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;

/** A model implementation, run inside a sandbox process. Throws IllegalArgumentException for bad input. */
public interface ModelRuntime {
  String name();

  void run(SandboxRequest request, SandboxReply.Builder reply);
}
