package aimos.node.dev;

import aimos.api.v1.AudioInput;
import aimos.api.v1.EmbeddingInput;
import aimos.api.v1.ImageInput;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import javax.sound.sampled.AudioFileFormat;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;

/**
 * {@code bin/aimos dev} is ready when each demo model answers a real request through the gateway, as a user's first
 * call would reach it: a sandbox that runs is not enough, since a runtime may still be loading its model files.
 * Each model is asked with a sample input of its kind until it answers; "no capacity" and other passing refusals
 * are retried, anything else ends the wait for that model with the reason.
 */
public final class DemoReadiness {
  /** A model to probe and the request that shows it answers. */
  public record Probe(String model, InferRequest request) {}

  /** How each probe ended: answered, or the reason it did not (the last refusal when time ran out). */
  public record Outcome(Map<String, String> failures, Map<String, Duration> answered) {
    public boolean allAnswered() {
      return failures.isEmpty();
    }
  }

  private DemoReadiness() {}

  /** A sample request of the kind of input that {@code runtime} takes. */
  public static InferRequest sampleRequest(String model, String runtime) {
    InferRequest.Builder r = InferRequest.newBuilder().setModel(model)
        .setRequestId("dev-ready-" + UUID.randomUUID());
    switch (aimos.model.runtime.ModelRuntimes.input(runtime)) {
      case IMAGE -> r.setImage(ImageInput.newBuilder().setData(ByteString.copyFrom(samplePng())));
      case AUDIO -> r.setAudio(AudioInput.newBuilder().setData(ByteString.copyFrom(sampleWav())));
      case EMBEDDING -> r.setEmbedding(EmbeddingInput.newBuilder().addInputs("hello world"));
      case TEXT -> r.setText(TextInput.newBuilder().setPrompt("hello world").setMaxTokens(4));
    }
    return r.build();
  }

  /** A text line's shape: dark bars on white, 240 x 48 (no font needed, so it works headless on any host). */
  static byte[] samplePng() {
    BufferedImage image = new BufferedImage(240, 48, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, 240, 48);
      g.setColor(Color.BLACK);
      for (int x = 12; x < 228; x += 18) {
        g.fillRect(x, 12, 10, 24);
      }
    } finally {
      g.dispose();
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "png", png);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return png.toByteArray();
  }

  /** One second of a 440 Hz tone, 16 kHz 16-bit mono PCM WAV. */
  static byte[] sampleWav() {
    int rate = 16_000;
    byte[] pcm = new byte[rate * 2];
    for (int i = 0; i < rate; i++) {
      short s = (short) (Math.sin(2 * Math.PI * 440 * i / rate) * 8_000);
      pcm[2 * i] = (byte) s;
      pcm[2 * i + 1] = (byte) (s >> 8);
    }
    AudioFormat format = new AudioFormat(rate, 16, 1, true, false);
    ByteArrayOutputStream wav = new ByteArrayOutputStream();
    try (AudioInputStream in = new AudioInputStream(new ByteArrayInputStream(pcm), format, rate)) {
      AudioSystem.write(in, AudioFileFormat.Type.WAVE, wav);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return wav.toByteArray();
  }

  /**
   * Asks every probe's model until it answers or {@code within} has passed, printing which ones are still awaited
   * every 5 s. A model answers when its request gets a response; UNAVAILABLE (no capacity yet), RESOURCE_EXHAUSTED,
   * DEADLINE_EXCEEDED and NOT_FOUND (a model registered a moment ago, not yet seen by this node) are retried.
   */
  public static Outcome await(InferenceServiceClient client, String apiKey, List<Probe> probes, Duration within,
                              PrintStream progress) {
    Map<String, Probe> waiting = new LinkedHashMap<>();
    probes.forEach(p -> waiting.put(p.model(), p));
    Map<String, String> lastRefusal = new LinkedHashMap<>();
    Map<String, String> failures = new LinkedHashMap<>();
    Map<String, Duration> answered = new LinkedHashMap<>();
    long start = System.nanoTime();
    long deadline = start + within.toNanos();
    long nextReport = start + Duration.ofSeconds(5).toNanos();
    while (!waiting.isEmpty() && System.nanoTime() < deadline) {
      for (var it = waiting.values().iterator(); it.hasNext(); ) {
        Probe p = it.next();
        try {
          client.infer().addHeader("authorization", "Bearer " + apiKey).invoke(p.request())
              .toCompletableFuture().get(30, TimeUnit.SECONDS);
          answered.put(p.model(), Duration.ofNanos(System.nanoTime() - start));
          it.remove();
        } catch (java.util.concurrent.TimeoutException e) {
          lastRefusal.put(p.model(), "no answer within 30 s");
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          waiting.keySet().forEach(m -> failures.put(m, "interrupted"));
          return new Outcome(failures, answered);
        } catch (java.util.concurrent.ExecutionException e) {
          Status status = Status.fromThrowable(e.getCause());
          String reason = status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
          switch (status.getCode()) {
            case UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, NOT_FOUND -> lastRefusal.put(p.model(), reason);
            default -> {
              failures.put(p.model(), reason);
              it.remove();
            }
          }
        }
      }
      if (waiting.isEmpty()) {
        break;
      }
      if (System.nanoTime() - nextReport >= 0) {
        progress.println("      waiting for " + String.join(", ", waiting.keySet()) + " to answer...");
        nextReport = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      }
      try {
        // a sandbox starts in seconds: ask again soon, without spinning
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    waiting.keySet().forEach(m -> failures.put(m, lastRefusal.getOrDefault(m, "no answer")));
    return new Outcome(failures, answered);
  }
}
