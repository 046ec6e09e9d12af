package aimos.model.runtime;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/** Images as vision models take them: decoded from the bytes callers send, then as float tensors. */
final class ImageTensors {
  static final int MAX_SIDE = 4096;
  /**
   * Pixels decoded at most; larger images are decoded subsampled. The models see 48 to a few hundred pixels high,
   * and a sandbox decodes several images at once in a small heap (a 16-bit RGBA pixel takes 8 bytes).
   */
  static final long MAX_DECODED_PIXELS = 1L << 20;
  private static final Set<String> FORMATS = Set.of("png", "jpeg", "gif", "bmp");
  private static final String FORMATS_WORDS = "PNG, JPEG, GIF or BMP";

  static {
    // decode from memory: the bytes are already here, and a disk cache would leave files behind in the sandbox
    ImageIO.setUseCache(false);
  }

  private ImageTensors() {}

  /** A decoded image and the size its header declares (the pixels may be subsampled from it). */
  record Decoded(BufferedImage pixels, int width, int height) {}

  /**
   * A PNG, JPEG, GIF or BMP image. Its size is read from the header and checked before any pixel is: over 4096
   * pixels wide or high is the caller's to fix.
   */
  static Decoded decode(byte[] data) {
    if (data.length == 0) {
      throw new InvalidInputException("the image is empty");
    }
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(data))) {
      ImageReader reader = reader(in);
      try {
        reader.setInput(in, true, true);
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        if (width <= 0 || height <= 0) {
          throw new InvalidInputException("the image declares " + width + "x" + height + " pixels");
        }
        if (width > MAX_SIDE || height > MAX_SIDE) {
          throw new InvalidInputException("the image has " + width + "x" + height + " pixels; the limit is "
              + MAX_SIDE + "x" + MAX_SIDE);
        }
        ImageReadParam param = reader.getDefaultReadParam();
        int step = subsampling(width, height);
        param.setSourceSubsampling(step, step, 0, 0);
        BufferedImage pixels = reader.read(0, param);
        return new Decoded(pixels, width, height);
      } finally {
        reader.dispose();
      }
    } catch (InvalidInputException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      // the decoder's own text says nothing the caller can act on
      throw new InvalidInputException("the image could not be decoded; send " + FORMATS_WORDS);
    }
  }

  private static ImageReader reader(ImageInputStream in) {
    Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
    while (readers.hasNext()) {
      ImageReader reader = readers.next();
      try {
        if (FORMATS.contains(reader.getFormatName().toLowerCase())) {
          return reader;
        }
      } catch (IOException e) {
        // not one of ours
      }
      reader.dispose();
    }
    throw new InvalidInputException("the data is not an image this model reads: send " + FORMATS_WORDS);
  }

  /** The smallest step (every n-th pixel each way) that keeps the decoded pixels within the limit. */
  static int subsampling(int width, int height) {
    int step = 1;
    while ((long) ceilDiv(width, step) * ceilDiv(height, step) > MAX_DECODED_PIXELS) {
      step++;
    }
    return step;
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  /**
   * The image resized (bilinear, on white) to {@code width} x {@code height}, as NCHW data {@code paddedWidth} wide
   * (zeros to the right): channel values {@code (v / scale - mean[c]) / std[c]}, in RGB or BGR order. Callers bound
   * the sizes: this allocates {@code 3 x height x paddedWidth} floats.
   */
  static float[] nchw(BufferedImage image, int width, int height, int paddedWidth, float scale, float[] mean,
                      float[] std, boolean bgr) {
    if (width < 1 || height < 1 || width > paddedWidth || (long) height * paddedWidth > (long) MAX_SIDE * MAX_SIDE) {
      throw new IllegalStateException("tensor size " + width + "x" + height + " in " + paddedWidth + " is out of range");
    }
    BufferedImage resized = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = resized.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.drawImage(image, 0, 0, width, height, Color.WHITE, null);
    g.dispose();
    int plane = height * paddedWidth;
    float[] data = new float[3 * plane];
    int[] rgb = new int[3];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int pixel = resized.getRGB(x, y);
        rgb[0] = (pixel >> 16) & 0xff;
        rgb[1] = (pixel >> 8) & 0xff;
        rgb[2] = pixel & 0xff;
        for (int c = 0; c < 3; c++) {
          data[c * plane + y * paddedWidth + x] = (rgb[bgr ? 2 - c : c] / scale - mean[c]) / std[c];
        }
      }
    }
    return data;
  }
}
