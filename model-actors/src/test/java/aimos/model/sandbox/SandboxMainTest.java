package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.model.runtime.ModelRuntime;
import aimos.model.runtime.ModelRuntimes;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Test;

/** What a caller learns when a model refuses or fails: our own words, never the text of a library's exception. */
class SandboxMainTest {

  /** A runtime that fails the way a model library does: with an exception whose text names internals. */
  private record Failing(RuntimeException failure) implements ModelRuntime {
    @Override
    public String name() {
      return "failing";
    }

    @Override
    public void run(SandboxRequest request, SandboxReply.Builder reply) {
      throw failure;
    }
  }

  private static SandboxReply handle(ModelRuntime runtime, SandboxRequest request) {
    return SandboxMain.handle(runtime, request, new ByteArrayOutputStream());
  }

  @Test
  void aLibrarysExceptionTextNeverReachesTheCaller() {
    SandboxRequest request = ModelRuntimes.probe("echo-text").setId(7).build();
    for (RuntimeException e : new RuntimeException[] {
        new IllegalStateException("ORT_FAIL /opt/models/secret-model.onnx: node Conv_12 out of memory"),
        // libraries throw IllegalArgumentException too: it is no verdict on the caller's input
        new IllegalArgumentException("Dimensions (width*height) too large at sun.awt.image.Internal"),
        new NullPointerException("Cannot invoke \"edu.cmu.sphinx.Frontend.getData()\"")}) {
      SandboxReply reply = handle(new Failing(e), request);
      assertEquals(7, reply.getId());
      assertEquals("FAILED", reply.getError().getKind(), e.toString());
      assertEquals("the model failed on this input", reply.getError().getMessage());
    }
  }
}
