package aimos.model.runtime;

import aimos.internal.sandbox.EmbedResult;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.Vector;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import dev.langchain4j.model.embedding.onnx.allminilml6v2q.AllMiniLmL6V2QuantizedEmbeddingModel;

/**
 * Sentence embeddings from all-MiniLM-L6-v2 (quantized, 384 dimensions, unit length), run by ONNX Runtime inside the
 * sandbox. Billed per 1,000 input tokens counted with cl100k_base, as OpenAI counts embedding input.
 */
public final class MiniLmEmbeddingRuntime implements ModelRuntime {
  public static final String NAME = "minilm-embeddings";
  public static final int DIMENSIONS = 384;
  public static final int MAX_INPUTS = 256;

  private final Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  // the caller's thread runs the model: the sandbox's own pool already bounds concurrency
  private final AllMiniLmL6V2QuantizedEmbeddingModel model = new AllMiniLmL6V2QuantizedEmbeddingModel(Runnable::run);

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply) {
    if (!request.hasEmbed()) {
      throw new InvalidInputException("runtime " + NAME + " embeds texts: send embedding inputs, not "
          + request.getBodyCase().name().toLowerCase());
    }
    var inputs = request.getEmbed().getInputsList();
    if (inputs.isEmpty() || inputs.size() > MAX_INPUTS) {
      throw new InvalidInputException("send 1 to " + MAX_INPUTS + " inputs, not " + inputs.size());
    }
    EmbedResult.Builder result = EmbedResult.newBuilder();
    long tokens = 0;
    for (int i = 0; i < inputs.size(); i++) {
      String text = inputs.get(i);
      if (text.isBlank()) {
        throw new InvalidInputException("input " + i + " is empty");
      }
      tokens += encoding.countTokens(text);
      Vector.Builder v = Vector.newBuilder();
      for (float f : model.embed(text).content().vector()) {
        v.addValues(f);
      }
      result.addVectors(v);
    }
    reply.setEmbedding(result.setTokens(tokens));
  }
}
