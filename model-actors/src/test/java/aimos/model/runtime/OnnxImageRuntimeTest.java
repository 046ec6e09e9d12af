package aimos.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.ImageJob;
import aimos.internal.sandbox.ImageResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import com.google.protobuf.ByteString;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generic ONNX image runtime on a model file it knows nothing about but its sidecar: PaddleOCR's text-direction
 * classifier, copied to a directory of its own, told apart upright and upside-down lines as its preset does.
 */
class OnnxImageRuntimeTest {
  private static OnnxImageRuntime runtime;
  private static Path dir;

  @BeforeAll
  static void load() throws Exception {
    dir = Files.createTempDirectory("onnx-image");
    Path model = dir.resolve("direction.onnx");
    try (InputStream in = OnnxImageRuntimeTest.class.getClassLoader()
        .getResourceAsStream("aimos/models/paddleocr/ch_ppocr_mobile_v2.0_cls_infer.onnx")) {
      Files.copy(in, model);
    }
    Files.writeString(Path.of(model + ".json"), """
        {"labels": ["upright", "upside-down"], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "channels": "BGR",
         "width": 192, "height": 48}""");
    runtime = new OnnxImageRuntime(OnnxImageRuntime.PREFIX + model);
  }

  private static ImageResult classify(String fixture) {
    SandboxReply.Builder reply = SandboxReply.newBuilder();
    runtime.run(SandboxRequest.newBuilder().setImage(ImageJob.newBuilder()
        .setData(ByteString.copyFrom(PaddleOcrRuntimeTest.fixture(fixture)))).build(), reply);
    return reply.getImage();
  }

  @Test
  void classifiesWithTheSidecarsLabelsAndNormalisation() {
    ImageResult upright = classify("line-invoice.png");
    assertEquals("upright", upright.getLabels(0).getLabel(), upright.toString());
    assertEquals(2, upright.getLabelsCount());
    assertEquals(1.0, upright.getLabels(0).getScore() + upright.getLabels(1).getScore(), 1e-4);
    assertEquals("upside-down", classify("line-invoice-upside-down.png").getLabels(0).getLabel());
  }

  @Test
  void refusesWhatItCannotLoad() {
    assertTrue(ModelRuntimes.exists("onnx-image:/models/resnet50.onnx"));
    assertEquals(aimos.api.v1.BillingUnit.IMAGES, ModelRuntimes.billingUnit("onnx-image:/models/resnet50.onnx"));
    assertTrue(!ModelRuntimes.exists("onnx-image:relative/model.onnx"));
    assertThrows(IllegalStateException.class, () -> new OnnxImageRuntime("onnx-image:" + dir.resolve("absent.onnx")));
  }

  @Test
  void softmaxOnlyWhenScoresAreNotProbabilities() {
    float[] probs = {0.25f, 0.75f};
    assertEquals(probs, OnnxImageRuntime.softmaxIfNeeded(probs));
    float[] logits = OnnxImageRuntime.softmaxIfNeeded(new float[] {2f, 0f});
    assertEquals(0.8808, logits[0], 1e-3);
  }
}
