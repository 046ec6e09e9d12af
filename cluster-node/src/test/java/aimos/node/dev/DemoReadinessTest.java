package aimos.node.dev;

import static org.junit.jupiter.api.Assertions.assertEquals;

import aimos.api.v1.InferRequest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import javax.imageio.ImageIO;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import org.junit.jupiter.api.Test;

class DemoReadinessTest {
  @Test
  void eachDemoModelIsProbedWithTheInputItsRuntimeTakes() {
    for (DevLauncher.DemoModel m : DevLauncher.DEMO_MODELS) {
      InferRequest r = DemoReadiness.sampleRequest(m.name(), m.runtime());
      assertEquals(m.name(), r.getModel());
      InferRequest.InputCase expected = switch (m.unit()) {
        case IMAGES -> InferRequest.InputCase.IMAGE;
        case AUDIO_MINUTES -> InferRequest.InputCase.AUDIO;
        default -> m.runtime().endsWith("-embeddings") ? InferRequest.InputCase.EMBEDDING : InferRequest.InputCase.TEXT;
      };
      assertEquals(expected, r.getInputCase(), m.toString());
    }
    // every probe is a new request, so none is answered from an earlier start's recent requests
    assertEquals(false, DemoReadiness.sampleRequest("m", "echo-text").getRequestId()
        .equals(DemoReadiness.sampleRequest("m", "echo-text").getRequestId()));
  }

  @Test
  void theSampleImageAndAudioDecode() throws Exception {
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(DemoReadiness.samplePng()));
    assertEquals(240, image.getWidth());
    assertEquals(48, image.getHeight());
    try (AudioInputStream audio = AudioSystem.getAudioInputStream(new ByteArrayInputStream(DemoReadiness.sampleWav()))) {
      assertEquals(16_000f, audio.getFormat().getSampleRate());
      assertEquals(1, audio.getFormat().getChannels());
      assertEquals(16_000, audio.getFrameLength());
    }
  }
}
