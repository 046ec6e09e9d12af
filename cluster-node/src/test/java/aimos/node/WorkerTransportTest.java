package aimos.node;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.model.sandbox.Worker;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The gateway's input limits and the large-message lane between nodes agree, with real serialized sizes. */
class WorkerTransportTest {
  private static final Config CONFIG = NodeConfig.load(ConfigFactory.empty(), Map.of());
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create(ConfigFactory.parseString("pekko.actor.provider = local").withFallback(CONFIG));
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static int serializedSize(Object message) {
    Serialization serialization = SerializationExtension.get(kit.system().classicSystem());
    return serialization.serialize(message).get().length;
  }

  @Test
  void theNodesOwnLimitsFitTheLargeMessageFrame() {
    assertDoesNotThrow(() -> WorkerTransport.check(CONFIG));
    long frame = CONFIG.getBytes("pekko.remote.artery.advanced.maximum-large-frame-size");
    assertTrue(frame >= WorkerTransport.largestMessage(CONFIG));
    assertTrue(CONFIG.getBytes("pekko.remote.artery.advanced.maximum-frame-size") < 2 * CONFIG.getBytes(
        "aimos.gateway.max-image-bytes"), "audio needs the large lane");
  }

  @Test
  void theLargestWorkerMessagesSerializeWithinTheBound() {
    long bound = WorkerTransport.largestMessage(CONFIG) - WorkerTransport.OVERHEAD / 2;
    int maxImage = CONFIG.getBytes("aimos.gateway.max-image-bytes").intValue();
    int maxChars = CONFIG.getInt("aimos.gateway.max-prompt-chars");
    ActorRef<Worker.Result> replyTo = kit.createTestProbe(Worker.Result.class).ref();
    String requestId = "r".repeat(128);

    // characters of three UTF-8 bytes, the most one char takes
    String grammar = "€".repeat((int) WorkerTransport.MAX_GRAMMAR_CHARS);
    int audio = serializedSize(new Worker.Run(requestId, new Worker.AudioJob(new byte[2 * maxImage], grammar),
        replyTo, null));
    int text = serializedSize(new Worker.Run(requestId, "€".repeat(maxChars), 4096, replyTo));
    List<String> inputs = new ArrayList<>();
    for (int i = 0; i < 256; i++) {
      inputs.add("€".repeat(maxChars / 256));
    }
    int embed = serializedSize(new Worker.Run(requestId, new Worker.EmbedJob(inputs), replyTo, null));
    List<float[]> vectors = new ArrayList<>();
    for (int i = 0; i < 256; i++) {
      vectors.add(new float[384]);
    }
    int embedded = serializedSize(new Worker.Embedded(vectors, 100_000));
    int completed = serializedSize(new Worker.Completed(
        "€".repeat(CONFIG.getBytes("aimos.sandbox.max-reply-bytes").intValue() / 3), 1, 1));

    for (int size : List.of(audio, text, embed, embedded, completed)) {
      assertTrue(size <= bound, size + " bytes serialized, bound " + bound);
    }
    assertTrue(audio > 2 * maxImage);
    // each of these is dropped by Artery's ordinary 256 KiB frame
    long ordinary = CONFIG.getBytes("pekko.remote.artery.advanced.maximum-frame-size");
    for (int size : List.of(text, embed, embedded)) {
      assertTrue(size > ordinary, size + " bytes");
    }
  }

  @Test
  void limitsThatDoNotFitStopTheNode() {
    Config biggerImages = ConfigFactory.parseString("aimos.gateway.max-image-bytes = 8MiB").withFallback(CONFIG);
    var e = assertThrows(IllegalArgumentException.class, () -> WorkerTransport.check(biggerImages));
    assertTrue(e.getMessage().contains("maximum-large-frame-size"), e.getMessage());

    Config noLane = ConfigFactory.parseString("pekko.remote.artery.large-message-destinations = []")
        .withFallback(CONFIG);
    e = assertThrows(IllegalArgumentException.class, () -> WorkerTransport.check(noLane));
    assertTrue(e.getMessage().contains("/system/worker-host/sandbox-*"), e.getMessage());
  }
}
