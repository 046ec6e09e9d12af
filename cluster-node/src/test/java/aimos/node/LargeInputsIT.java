package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.AudioInput;
import aimos.api.v1.EmbeddingInput;
import aimos.api.v1.ImageInput;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.TextInput;
import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Inputs and results far above Artery's ordinary 256 KiB frame travel between nodes: each model runs on one node of
 * three, and every request enters through the gateway of another, so its Worker.Run and the result cross the
 * network (a message over the frame size would be dropped and the caller would wait for its timeout).
 */
class LargeInputsIT {
  private static final int MIB = 1024 * 1024;
  private static final String COMMANDS = Fixtures.COMMANDS;
  private static TestCluster cluster;
  private static String key;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(3);
    Http.model(cluster, "far-ocr", "ocr-text", "IMAGES", 1);
    Http.model(cluster, "far-speech", "sphinx-speech", "AUDIO_MINUTES", 1);
    Http.model(cluster, "far-embed", "minilm-embeddings", "TOKENS", 1);
    Http.textModel(cluster, "far-text");
    key = Http.tenantWithKey(cluster, "large-co", 1000, 16);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  /** A request to a node other than the one running the model's only worker. */
  private static InferResponse inferElsewhere(String model, InferRequest.Builder request) {
    int worker = cluster.nodeOf(cluster.awaitWorkerReady(model, "v1"));
    int gateway = (worker + 1) % cluster.nodes.size();
    assertNotEquals(worker, gateway);
    return cluster.client(gateway).infer().addHeader("authorization", "Bearer " + key)
        .invoke(request.setModel(model).build()).toCompletableFuture().join();
  }

  @Test
  void aMebibyteImageAndOneOfTheLargestAllowedAreReadOnAnotherNode() {
    int largest = cluster.nodes.get(0).settings().maxImageBytes();
    for (int size : List.of(MIB, largest)) {
      byte[] image = padded(Fixtures.image("line-invoice.png"), size);
      assertEquals(size, image.length);
      InferResponse r = inferElsewhere("far-ocr", InferRequest.newBuilder().setRequestId("img-" + size)
          .setImage(ImageInput.newBuilder().setData(ByteString.copyFrom(image))));
      assertEquals("Invoice 4711 total 99.50 USD", r.getImage().getText(), size + " bytes");
      assertEquals(1, r.getUsage().getImages());
    }
  }

  @Test
  void fiveSecondsOfAudioAreTranscribedOnAnotherNode() {
    byte[] wav = lengthened(Fixtures.audio("open-the-door-44k-stereo.wav"), 5);
    assertTrue(wav.length > 860 * 1024, wav.length + " bytes");
    InferResponse r = inferElsewhere("far-speech", InferRequest.newBuilder().setRequestId("audio-5s")
        .setAudio(AudioInput.newBuilder().setData(ByteString.copyFrom(wav)).setGrammar(COMMANDS)));
    assertEquals("open the door", r.getTranscript().getText());
    assertEquals(5000, r.getTranscript().getDurationMillis(), 1);
    assertEquals(5000, r.getUsage().getAudioMillis());
  }

  @Test
  void audioOfTheLargestAllowedSizeReachesTheModelOnAnotherNodeAndOneByteMoreIsRefused() {
    int largest = 2 * cluster.nodes.get(0).settings().maxImageBytes();
    byte[] notAudio = new byte[largest];
    Arrays.fill(notAudio, (byte) 'x');
    // the model's own refusal: all 8 MiB went through the gateway and across to the worker's node
    var refused = InferenceIT.failsWith(io.grpc.Status.Code.INVALID_ARGUMENT, () -> inferElsewhere("far-speech",
        InferRequest.newBuilder().setRequestId("audio-largest")
            .setAudio(AudioInput.newBuilder().setData(ByteString.copyFrom(notAudio)))));
    assertTrue(refused.getStatus().getDescription().contains("WAV, AIFF or AU"), refused.getStatus().toString());
    var tooLarge = InferenceIT.failsWith(io.grpc.Status.Code.INVALID_ARGUMENT, () -> inferElsewhere("far-speech",
        InferRequest.newBuilder().setRequestId("audio-too-large")
            .setAudio(AudioInput.newBuilder().setData(ByteString.copyFrom(Arrays.copyOf(notAudio, largest + 1))))));
    assertTrue(tooLarge.getStatus().getDescription().contains("the limit is " + largest),
        tooLarge.getStatus().toString());
  }

  @Test
  void aPromptOfTheLongestAllowedLengthReachesATextModelOnAnotherNode() {
    int chars = cluster.nodes.get(0).settings().maxPromptChars();
    // 3 bytes a character in UTF-8: about 290 KiB on the wire
    StringBuilder prompt = new StringBuilder(chars);
    while (prompt.length() + 10 + 4 <= chars) {
      prompt.append("€".repeat(9)).append(' ');
    }
    prompt.append("last");
    InferResponse r = inferElsewhere("far-text", InferRequest.newBuilder().setRequestId("long-prompt")
        .setText(TextInput.newBuilder().setPrompt(prompt.toString()).setMaxTokens(1)));
    assertEquals("last", r.getText().getCompletion());
    assertTrue(r.getUsage().getPromptTokens() > 10_000, r.getUsage().toString());
  }

  @Test
  void embeddingsOf256InputsComeBackFromAnotherNode() {
    List<String> inputs = new ArrayList<>();
    for (int i = 0; i < 256; i++) {
      inputs.add("sentence number " + i + " about the weather");
    }
    // 256 x 384 floats: about 400 KiB of result
    InferResponse r = inferElsewhere("far-embed", InferRequest.newBuilder().setRequestId("embed-256")
        .setEmbedding(EmbeddingInput.newBuilder().addAllInputs(inputs)));
    assertEquals(256, r.getEmbedding().getDataCount());
    r.getEmbedding().getDataList().forEach(e -> assertEquals(384, e.getValuesCount()));
    assertNotEquals(r.getEmbedding().getData(0).getValuesList(), r.getEmbedding().getData(255).getValuesList());
  }

  /** The PNG with a tEXt chunk after its header, making it {@code size} bytes; decoders skip the text. */
  static byte[] padded(byte[] png, int size) {
    int afterHeader = 8 + 4 + 4 + 13 + 4;
    assertEquals("IHDR", new String(png, 12, 4, StandardCharsets.US_ASCII));
    byte[] keyword = "Comment\0".getBytes(StandardCharsets.ISO_8859_1);
    byte[] text = new byte[size - png.length - 12 - keyword.length];
    Arrays.fill(text, (byte) 'x');
    ByteBuffer chunk = ByteBuffer.allocate(12 + keyword.length + text.length);
    chunk.putInt(keyword.length + text.length).put("tEXt".getBytes(StandardCharsets.US_ASCII)).put(keyword).put(text);
    CRC32 crc = new CRC32();
    crc.update(chunk.array(), 4, 4 + keyword.length + text.length);
    chunk.putInt((int) crc.getValue());
    ByteArrayOutputStream out = new ByteArrayOutputStream(size);
    out.write(png, 0, afterHeader);
    out.writeBytes(chunk.array());
    out.write(png, afterHeader, png.length - afterHeader);
    return out.toByteArray();
  }

  /** A 16-bit PCM WAV with silence added after the speech to last {@code seconds}. */
  static byte[] lengthened(byte[] wav, int seconds) {
    ByteBuffer in = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN);
    int channels = in.getShort(22);
    int rate = in.getInt(24);
    int bits = in.getShort(34);
    assertEquals("data", new String(wav, 36, 4, StandardCharsets.US_ASCII), "a canonical 44-byte header");
    int speech = in.getInt(40);
    int total = seconds * rate * channels * bits / 8;
    assertTrue(total > speech);
    ByteBuffer out = ByteBuffer.allocate(44 + total).order(ByteOrder.LITTLE_ENDIAN);
    out.put(wav, 0, 44).putInt(4, 36 + total).putInt(40, total);
    out.put(wav, 44, speech);
    return out.array();
  }
}
