package aimos.model.runtime;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/** Images as the float tensors vision models take. */
final class ImageTensors {
  private ImageTensors() {}

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
