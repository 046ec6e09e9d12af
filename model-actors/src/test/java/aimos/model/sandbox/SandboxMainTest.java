package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import aimos.internal.sandbox.ImageJob;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.model.runtime.ModelRuntime;
import aimos.model.runtime.ModelRuntimes;
import aimos.model.runtime.PaddleOcrRuntime;
import com.google.protobuf.ByteString;
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

  @Test
  void validationWrittenForTheCallerIsSentAsItIs() {
    SandboxReply reply = handle(new PaddleOcrRuntime(PaddleOcrRuntime.TEXT), SandboxRequest.newBuilder().setId(3)
        .setImage(ImageJob.newBuilder().setData(ByteString.copyFromUtf8("not an image"))).build());
    assertEquals("INVALID_INPUT", reply.getError().getKind());
    assertEquals("the data is not an image this model reads: send PNG, JPEG, GIF or BMP", reply.getError().getMessage());
    assertFalse(reply.getError().getMessage().contains("Exception"));
  }
}
