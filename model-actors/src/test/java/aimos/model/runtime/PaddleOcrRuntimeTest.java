package aimos.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.ImageJob;
import aimos.internal.sandbox.ImageResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** PaddleOCR's real models on rendered text lines: the text is read, upside-down lines are recognised as such. */
class PaddleOcrRuntimeTest {
  private static PaddleOcrRuntime text;
  private static PaddleOcrRuntime orientation;

  @BeforeAll
  static void load() {
    text = new PaddleOcrRuntime(PaddleOcrRuntime.TEXT);
    orientation = new PaddleOcrRuntime(PaddleOcrRuntime.ORIENTATION);
  }

  static byte[] fixture(String name) {
    try (InputStream in = PaddleOcrRuntimeTest.class.getResourceAsStream("/fixtures/images/" + name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static ImageResult run(PaddleOcrRuntime runtime, byte[] image) {
    SandboxReply.Builder reply = SandboxReply.newBuilder();
    runtime.run(SandboxRequest.newBuilder().setImage(ImageJob.newBuilder().setData(ByteString.copyFrom(image)))
        .build(), reply);
    return reply.getImage();
  }

  @Test
  void readsTextLines() {
    ImageResult invoice = run(text, fixture("line-invoice.png"));
    assertEquals("Invoice 4711 total 99.50 USD", invoice.getText());
    assertTrue(invoice.getConfidence() > 0.8, invoice.toString());
    // JPEG too
    assertEquals("Metering every image exactly once", run(text, fixture("line-metering.jpg")).getText());
  }

  @Test
  void tellsUprightFromUpsideDownLines() {
    for (String line : new String[] {"line-invoice", "line-metering"}) {
      ImageResult upright = run(orientation, fixture(line + ".png"));
      assertEquals("0", upright.getLabels(0).getLabel(), upright.toString());
      assertTrue(upright.getLabels(0).getScore() > 0.8, upright.toString());
      assertEquals("180", run(orientation, fixture(line + "-upside-down.png")).getLabels(0).getLabel());
    }
  }

  @Test
  void refusesWhatIsNotAnImage() {
    var corrupt = assertThrows(IllegalArgumentException.class, () -> run(text, fixture("corrupt-truncated.png")));
    assertTrue(corrupt.getMessage().contains("PNG, JPEG"), corrupt.getMessage());
    assertThrows(IllegalArgumentException.class, () -> run(orientation, new byte[0]));
    assertThrows(IllegalArgumentException.class, () -> run(text, "plain text, not an image".getBytes()));
    assertThrows(IllegalArgumentException.class, () -> text.run(SandboxRequest.newBuilder()
        .setText(TextJob.newBuilder().setPrompt("x")).build(), SandboxReply.newBuilder()));
  }
}
