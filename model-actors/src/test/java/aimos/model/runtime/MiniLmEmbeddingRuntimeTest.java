package aimos.model.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.internal.sandbox.EmbedJob;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real MiniLM model: similar sentences are near, unrelated ones far; input tokens counted with cl100k. */
class MiniLmEmbeddingRuntimeTest {
  private static MiniLmEmbeddingRuntime runtime;

  @BeforeAll
  static void load() {
    runtime = new MiniLmEmbeddingRuntime();
  }

  static double cosine(List<Float> a, List<Float> b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.size(); i++) {
      dot += a.get(i) * b.get(i);
      na += a.get(i) * a.get(i);
      nb += b.get(i) * b.get(i);
    }
    return dot / Math.sqrt(na * nb);
  }

  private static SandboxReply embed(String... inputs) {
    SandboxReply.Builder reply = SandboxReply.newBuilder();
    runtime.run(SandboxRequest.newBuilder().setEmbed(EmbedJob.newBuilder().addAllInputs(List.of(inputs))).build(),
        reply);
    return reply.build();
  }

  @Test
  void similarSentencesAreCloserThanUnrelatedOnes() {
    var r = embed("The cat sits on the mat", "A cat is sitting on a rug", "Stock markets fell sharply today");
    var v = r.getEmbedding().getVectorsList();
    assertEquals(3, v.size());
    assertEquals(MiniLmEmbeddingRuntime.DIMENSIONS, v.get(0).getValuesCount());
    double near = cosine(v.get(0).getValuesList(), v.get(1).getValuesList());
    double far = cosine(v.get(0).getValuesList(), v.get(2).getValuesList());
    assertTrue(near > 0.6 && far < 0.3 && near > far + 0.4, "near " + near + ", far " + far);
    var cl100k = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
    assertEquals(cl100k.countTokens("The cat sits on the mat") + cl100k.countTokens("A cat is sitting on a rug")
        + cl100k.countTokens("Stock markets fell sharply today"), r.getEmbedding().getTokens());
  }

  @Test
  void refusesBadInput() {
    assertThrows(InvalidInputException.class, () -> embed());
    assertThrows(InvalidInputException.class, () -> embed("fine", "  "));
    assertThrows(InvalidInputException.class, () -> runtime.run(SandboxRequest.newBuilder()
        .setText(TextJob.newBuilder().setPrompt("x")).build(), SandboxReply.newBuilder()));
  }
}
