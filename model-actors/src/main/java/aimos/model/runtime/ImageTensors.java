package aimos.model.runtime;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/** Images as vision models take them: decoded from the bytes callers send, then as float tensors. */
final class ImageTensors {
  private static final int MAX_PIXELS = 4096 * 4096;

  private ImageTensors() {}

  /** A PNG, JPEG, GIF or BMP image; anything else, or one over 4096x4096 pixels, is the caller's to fix. */
  static BufferedImage decode(byte[] data) {
    if (data.length == 0) {
      throw new InvalidInputException("the image is empty");
    }
    BufferedImage image;
    try {
      image = ImageIO.read(new ByteArrayInputStream(data));
    } catch (IOException | RuntimeException e) {
      throw new InvalidInputException("the image could not be decoded (" + e.getMessage() + "); send PNG, JPEG, GIF "
          + "or BMP");
    }
    if (image == null) {
      throw new InvalidInputException("the data is not an image this model reads: send PNG, JPEG, GIF or BMP");
    }
    if ((long) image.getWidth() * image.getHeight() > MAX_PIXELS) {
      throw new InvalidInputException("the image has " + image.getWidth() + "x" + image.getHeight()
          + " pixels; the limit is 4096x4096");
    }
    return image;
  }


  /**
   * The image resized (bilinear, on white) to {@code width} x {@code height}, as NCHW data {@code paddedWidth} wide
   * (zeros to the right): channel values {@code (v / scale - mean[c]) / std[c]}, in RGB or BGR order.
   */
  static float[] nchw(BufferedImage image, int width, int height, int paddedWidth, float scale, float[] mean,
                      float[] std, boolean bgr) {
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
