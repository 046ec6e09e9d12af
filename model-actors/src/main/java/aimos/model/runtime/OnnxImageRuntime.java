package aimos.model.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import aimos.internal.sandbox.ImageLabel;
import aimos.internal.sandbox.ImageResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Any ONNX image classifier, as runtime {@code onnx-image:<absolute path of the .onnx file>} (the file must be on
 * every node that hosts the model). The image is resized to the model's input (NCHW, float), normalised per channel
 * as {@code (v / scale - mean) / std}, and the five best classes come back with their scores. How to feed the model
 * is read from {@code <file>.json} beside it, each field optional: {@code labels} (class names, by index),
 * {@code mean}, {@code std} (ImageNet's by default), {@code scale} (255), {@code channels} ({@code RGB} or
 * {@code BGR}), {@code width} and {@code height} (else the model's own, else 224); scores that do not sum to 1 are
 * passed through softmax.
 */
public final class OnnxImageRuntime implements ModelRuntime {
  public static final String PREFIX = "onnx-image:";
  private static final int TOP = 5;

  private final String name;
  private final OrtEnvironment env = OrtEnvironment.getEnvironment();
  private final OrtSession session;
  private final List<String> labels;
  private final float[] mean;
  private final float[] std;
  private final float scale;
  private final boolean bgr;
  private final int width;
  private final int height;

  /** The model file of a runtime name, or null if it is not one of this kind. */
  public static Path fileOf(String runtime) {
    if (runtime == null || !runtime.startsWith(PREFIX)) {
      return null;
    }
    String path = runtime.substring(PREFIX.length());
    return path.startsWith("/") && path.endsWith(".onnx") ? Path.of(path) : null;
  }

  public OnnxImageRuntime(String name) {
    this.name = name;
    Path file = fileOf(name);
    if (file == null) {
      throw new IllegalArgumentException("an ONNX image runtime is named onnx-image:/absolute/path/model.onnx, not "
          + name);
    }
    try {
      Path sidecar = Path.of(file + ".json");
      JsonNode meta = Files.exists(sidecar) ? new ObjectMapper().readTree(sidecar.toFile())
          : new ObjectMapper().createObjectNode();
      OrtSession.SessionOptions options = new OrtSession.SessionOptions();
      options.setIntraOpNumThreads(1);
      session = env.createSession(file.toString(), options);
      long[] shape = ((TensorInfo) session.getInputInfo().values().stream().map(NodeInfo::getInfo).findFirst()
          .orElseThrow()).getShape();
      width = meta.has("width") ? meta.get("width").asInt() : shape.length == 4 && shape[3] > 0 ? (int) shape[3] : 224;
      height = meta.has("height") ? meta.get("height").asInt() : shape.length == 4 && shape[2] > 0 ? (int) shape[2]
          : 224;
      mean = floats(meta.get("mean"), new float[] {0.485f, 0.456f, 0.406f});
      std = floats(meta.get("std"), new float[] {0.229f, 0.224f, 0.225f});
      scale = (float) meta.path("scale").asDouble(255);
      bgr = meta.path("channels").asText("RGB").equalsIgnoreCase("BGR");
      if (width < 1 || height < 1 || width > ImageTensors.MAX_SIDE || height > ImageTensors.MAX_SIDE) {
        throw new IllegalArgumentException("the input of " + file + " is " + width + "x" + height + " pixels; it must "
            + "be 1 to " + ImageTensors.MAX_SIDE + " each way (set width and height in " + file + ".json)");
      }
      List<String> names = new ArrayList<>();
      meta.path("labels").forEach(l -> names.add(l.asText()));
      labels = names;
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + file + ".json: " + e.getMessage(), e);
    } catch (OrtException e) {
      throw new IllegalStateException("cannot load the ONNX model " + file + ": " + e.getMessage(), e);
    }
  }

  private static float[] floats(JsonNode node, float[] otherwise) {
    if (node == null || !node.isArray() || node.size() != 3) {
      return otherwise;
    }
    return new float[] {(float) node.get(0).asDouble(), (float) node.get(1).asDouble(), (float) node.get(2).asDouble()};
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply) {
    if (!request.hasImage()) {
      throw new InvalidInputException("runtime " + name + " classifies images: send an image");
    }
    BufferedImage image = ImageTensors.decode(request.getImage().getData().toByteArray()).pixels();
    float[] scores;
    try (OnnxTensor input = tensor(image);
         OrtSession.Result result = session.run(Map.of(session.getInputNames().iterator().next(), input))) {
      Object value = result.get(0).getValue();
      scores = value instanceof float[][] rows ? rows[0] : (float[]) value;
    } catch (OrtException e) {
      throw new IllegalStateException("the model failed", e);
    }
    float[] probs = softmaxIfNeeded(scores);
    ImageResult.Builder out = ImageResult.newBuilder();
    java.util.stream.IntStream.range(0, probs.length).boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> probs[i]).reversed()).limit(TOP)
        .forEach(i -> out.addLabels(ImageLabel.newBuilder()
            .setLabel(i < labels.size() ? labels.get(i) : Integer.toString(i)).setScore(probs[i])));
    reply.setImage(out);
  }

  static float[] softmaxIfNeeded(float[] scores) {
    double sum = 0;
    boolean probabilities = true;
    for (float s : scores) {
      sum += s;
      probabilities &= s >= 0 && s <= 1;
    }
    if (probabilities && Math.abs(sum - 1) < 1e-3) {
      return scores;
    }
    double max = Double.NEGATIVE_INFINITY;
    for (float s : scores) {
      max = Math.max(max, s);
    }
    double total = 0;
    float[] out = new float[scores.length];
    for (int i = 0; i < scores.length; i++) {
      out[i] = (float) Math.exp(scores[i] - max);
      total += out[i];
    }
    for (int i = 0; i < out.length; i++) {
      out[i] /= (float) total;
    }
    return out;
  }

  private OnnxTensor tensor(BufferedImage image) throws OrtException {
    return OnnxTensor.createTensor(env, FloatBuffer.wrap(ImageTensors.nchw(image, width, height, width, scale, mean,
        std, bgr)), new long[] {1, 3, height, width});
  }
}
