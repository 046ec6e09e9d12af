package aimos.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.ImageJob;
import aimos.internal.sandbox.ImageResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import com.google.protobuf.ByteString;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * PaddleOCR's real models on rendered text lines: the text is read, upside-down lines are recognised as such, and
 * images whose size would cost more memory than a shared sandbox has are refused before they do.
 */
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
    var corrupt = assertThrows(InvalidInputException.class, () -> run(text, fixture("corrupt-truncated.png")));
    // the decoder's own words stay out
    assertEquals("the image could not be decoded; send PNG, JPEG, GIF or BMP", corrupt.getMessage());
    assertThrows(InvalidInputException.class, () -> run(orientation, new byte[0]));
    assertThrows(InvalidInputException.class, () -> run(text, "plain text, not an image".getBytes()));
    assertThrows(InvalidInputException.class, () -> text.run(SandboxRequest.newBuilder()
        .setText(TextJob.newBuilder().setPrompt("x")).build(), SandboxReply.newBuilder()));
  }
  static byte[] png(BufferedImage image) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ImageIO.write(image, "png", out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * A PNG of {@code width} x {@code height} white pixels; over 16 M pixels, only its first rows are there (the header
   * is what is checked).
   */
  static byte[] pngHeader(int width, int height) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
      ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
      DataOutputStream h = new DataOutputStream(ihdr);
      h.writeInt(width);
      h.writeInt(height);
      h.write(new byte[] {8, 0, 0, 0, 0});
      chunk(out, "IHDR", ihdr.toByteArray());
      Deflater deflater = new Deflater();
      long rows = (long) width * height > (1 << 24) ? 1 : height;
      byte[] raw = new byte[(int) (rows * (width + 1))];
      for (int i = 0; i < raw.length; i++) {
        raw[i] = i % (width + 1) == 0 ? 0 : (byte) 0xff;
      }
      deflater.setInput(raw);
      deflater.finish();
      ByteArrayOutputStream idat = new ByteArrayOutputStream();
      byte[] buffer = new byte[1 << 16];
      while (!deflater.finished()) {
        idat.write(buffer, 0, deflater.deflate(buffer));
      }
      chunk(out, "IDAT", idat.toByteArray());
      chunk(out, "IEND", new byte[0]);
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
    out.writeInt(data.length);
    byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
    out.write(typeBytes);
    out.write(data);
    CRC32 crc = new CRC32();
    crc.update(typeBytes);
    crc.update(data);
    out.writeInt((int) crc.getValue());
  }

  @Test
  void aTinyFileOfAHugelyWideLineIsRefusedBeforeItIsScaled() {
    byte[] line = png(new BufferedImage(4096, 1, BufferedImage.TYPE_BYTE_GRAY));
    assertTrue(line.length < 200, line.length + " bytes");
    var refused = assertTimeoutPreemptively(Duration.ofSeconds(5),
        () -> assertThrows(InvalidInputException.class, () -> run(text, line)));
    assertTrue(refused.getMessage().contains("4096x1") && refused.getMessage().contains("at most 1600 pixels wide"),
        refused.getMessage());
    // the orientation classifier squeezes any line into its fixed width
    assertEquals(2, run(orientation, line).getLabelsCount());
  }

  @Test
  void hugeDeclaredDimensionsAreRefusedFromTheHeader() {
    byte[] huge = pngHeader(100_000, 100_000);
    assertTrue(huge.length < 1000, huge.length + " bytes");
    var refused = assertTimeoutPreemptively(Duration.ofSeconds(5),
        () -> assertThrows(InvalidInputException.class, () -> run(text, huge)));
    assertEquals("the image has 100000x100000 pixels; the limit is 4096x4096", refused.getMessage());
    var wide = assertThrows(InvalidInputException.class, () -> run(orientation, pngHeader(40_000, 100)));
    assertTrue(wide.getMessage().contains("the limit is 4096x4096"), wide.getMessage());
  }

  @Test
  void largeImagesAreDecodedSubsampled() {
    ImageTensors.Decoded big = ImageTensors.decode(pngHeader(4096, 4096));
    assertEquals(4096, big.width());
    assertEquals(4096, big.height());
    assertTrue((long) big.pixels().getWidth() * big.pixels().getHeight() <= ImageTensors.MAX_DECODED_PIXELS,
        big.pixels().getWidth() + "x" + big.pixels().getHeight());
    ImageTensors.Decoded small = ImageTensors.decode(fixture("line-invoice.png"));
    assertEquals(small.width(), small.pixels().getWidth(), "small images are decoded whole");
  }
}
