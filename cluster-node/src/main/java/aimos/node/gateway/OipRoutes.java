package aimos.node.gateway;

import aimos.api.v1.EmbeddingInput;
import aimos.api.v1.ImageInput;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.TextInput;
import aimos.model.ModelEntity;
import aimos.model.runtime.ModelRuntimes;
import aimos.node.admin.ModelCatalog;
import aimos.node.BoundedBody;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The KServe Open Inference Protocol (v2) REST endpoints on the gateway port: model metadata and readiness, and
 * {@code infer} through the same gateway path as gRPC (keys, quotas, metering, idempotency by the request's
 * {@code id}). Tensors by model kind: text models take {@code text_input} (BYTES [1]) and give {@code text_output};
 * embeddings models take {@code text} (BYTES [n]) and give {@code embedding} (FP32 [n, d]); vision models take
 * {@code image} (BYTES [1], the file's bytes in base64) and give {@code label}/{@code score} or
 * {@code text}/{@code confidence}. The metered usage is in the response's {@code parameters}. Errors are
 * {@code {"error": "..."}} with the HTTP status.
 */
public final class OipRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final InferenceGateway gateway;
  private final ModelCatalog models;
  private final long maxBodyBytes;

  private final KeyCheck keys;

  public OipRoutes(InferenceGateway gateway, ModelCatalog models, long maxBodyBytes, KeyCheck keys) {
    this.gateway = gateway;
    this.models = models;
    this.maxBodyBytes = maxBodyBytes;
    this.keys = keys;
  }

  public Route route() {
    return concat(
        path("v2", () -> get(() -> complete(json(StatusCodes.OK, serverMetadata())))),
        pathPrefix(PathMatchers.segment("v2").slash("models").slash(PathMatchers.segment()), name ->
            !ModelEntity.isValidName(name)
                ? complete(error(StatusCodes.BAD_REQUEST, "model name must be " + ModelEntity.nameRule()))
                : concat(
            pathEnd(() -> get(() -> metadata(name, ""))),
            path("ready", () -> get(() -> ready(name, ""))),
            path("infer", () -> post(() -> infer(name, ""))),
            path(PathMatchers.segment("versions").slash(PathMatchers.segment()), version ->
                get(() -> metadata(name, version))),
            path(PathMatchers.segment("versions").slash(PathMatchers.segment()).slash("ready"), version ->
                get(() -> ready(name, version))),
            path(PathMatchers.segment("versions").slash(PathMatchers.segment()).slash("infer"),
                version -> post(() -> infer(name, version))))));
  }

  /** The Open Inference Protocol's server metadata: name, version and the protocol extensions served. */
  static ObjectNode serverMetadata() {
    ObjectNode root = JSON.createObjectNode().put("name", "aimos")
        .put("version", java.util.Optional.ofNullable(OipRoutes.class.getPackage().getImplementationVersion())
            .orElse("dev"));
    root.putArray("extensions");
    return root;
  }

  /** A model's view when it exists and has {@code version} (any version when empty). */
  private static boolean hasVersion(ModelEntity.ModelView view, String version) {
    return version.isEmpty() || view.versions().stream().anyMatch(v -> v.version().equals(version));
  }

  private Route metadata(String name, String version) {
    return authorized(() -> completeWithFuture(models.get(name).handle((view, err) -> {
      if (err != null || !hasVersion(view, version)) {
        return error(StatusCodes.NOT_FOUND, "no model " + name + (version.isEmpty() ? "" : " version " + version));
      }
      ObjectNode root = JSON.createObjectNode().put("name", view.name());
      ArrayNode versions = root.putArray("versions");
      view.versions().forEach(v -> versions.add(v.version()));
      String runtime = view.versions().stream().filter(v -> v.version().equals(view.defaultVersion())).findFirst()
          .map(ModelEntity.VersionInfo::runtime).orElse("");
      root.put("platform", "aimos/" + runtime);
      tensors(root, runtime);
      return json(StatusCodes.OK, root);
    })));
  }

  /** The tensors a runtime takes and gives. */
  private static void tensors(ObjectNode root, String runtime) {
    ArrayNode in = root.putArray("inputs");
    ArrayNode out = root.putArray("outputs");
    switch (ModelRuntimes.exists(runtime) ? ModelRuntimes.input(runtime) : ModelRuntimes.Input.TEXT) {
      case EMBEDDING -> {
        in.addObject().put("name", "text").put("datatype", "BYTES").putArray("shape").add(-1);
        out.addObject().put("name", "embedding").put("datatype", "FP32").putArray("shape").add(-1).add(-1);
      }
      case AUDIO -> {
        in.addObject().put("name", "audio").put("datatype", "BYTES").putArray("shape").add(1);
        out.addObject().put("name", "text").put("datatype", "BYTES").putArray("shape").add(1);
      }
      case IMAGE -> {
        in.addObject().put("name", "image").put("datatype", "BYTES").putArray("shape").add(1);
        if (runtime.equals(aimos.model.runtime.PaddleOcrRuntime.TEXT)) {
          out.addObject().put("name", "text").put("datatype", "BYTES").putArray("shape").add(1);
          out.addObject().put("name", "confidence").put("datatype", "FP32").putArray("shape").add(1);
        } else {
          out.addObject().put("name", "label").put("datatype", "BYTES").putArray("shape").add(-1);
          out.addObject().put("name", "score").put("datatype", "FP32").putArray("shape").add(-1);
        }
      }
      default -> {
        in.addObject().put("name", "text_input").put("datatype", "BYTES").putArray("shape").add(1);
        out.addObject().put("name", "text_output").put("datatype", "BYTES").putArray("shape").add(1);
      }
    }
  }

  private Route ready(String name, String version) {
    return authorized(() -> completeWithFuture(models.get(name).handle((view, err) -> {
      if (err != null || !hasVersion(view, version)) {
        return error(StatusCodes.NOT_FOUND, "no model " + name + (version.isEmpty() ? "" : " version " + version));
      }
      if (view.liveWorkers() == 0) {
        return error(StatusCodes.SERVICE_UNAVAILABLE, "model " + name + " has no live worker yet");
      }
      return json(StatusCodes.OK, JSON.createObjectNode().put("name", name).put("ready", true));
    })));
  }

  private Route authorized(java.util.function.Supplier<Route> inner) {
    return optionalHeaderValueByName("Authorization", auth -> onComplete(keys.tenantOf(auth), result -> {
      if (result.isFailure()) {
        return complete(error(StatusCodes.SERVICE_UNAVAILABLE, "the tenant service did not answer; try again"));
      }
      return result.get().isPresent() ? inner.get() : complete(error(StatusCodes.UNAUTHORIZED,
          "missing, invalid or revoked API key: send 'Authorization: Bearer <api key>'"));
    }));
  }

  private Route infer(String name, String version) {
    return optionalHeaderValueByName("Authorization", auth ->
        optionalHeaderValueByName(CallTiming.SLOT_HEADER, slot ->
        optionalHeaderValueByName("Idempotency-Key", idempotencyKey ->
            BoundedBody.atMost(maxBodyBytes, () -> error(StatusCodes.PAYLOAD_TOO_LARGE, "the request body is larger "
                + "than " + maxBodyBytes + " bytes"), () -> entity(Unmarshaller.entityToString(), body -> {
              InferRequest.Builder req = InferRequest.newBuilder().setModel(name).setVersion(version);
              try {
                JsonNode json = JSON.readTree(body);
                if (json == null || !json.isObject()) {
                  throw new IllegalArgumentException("the body must be a JSON object with \"inputs\"");
                }
                String id = json.path("id").asText("");
                req.setRequestId(!id.isEmpty() ? id : idempotencyKey.orElse(UUID.randomUUID().toString()));
                read(json, req);
              } catch (JsonProcessingException e) {
                return complete(error(StatusCodes.BAD_REQUEST, "the body is not valid JSON: " + e.getOriginalMessage()));
              } catch (IllegalArgumentException e) {
                return complete(error(StatusCodes.BAD_REQUEST, e.getMessage()));
              }
              Metadata metadata = CallTiming.restMetadata(auth, slot);
              CompletionStage<HttpResponse> response = gateway.infer(req.build(), metadata).handle((r, err) ->
                  err == null ? json(StatusCodes.OK, answer(r)) : failure(err));
              return completeWithFuture(response);
            })))));
  }

  /** The request's one input tensor, by name, as the typed input of the inference. */
  private static void read(JsonNode json, InferRequest.Builder req) {
    JsonNode inputs = json.get("inputs");
    if (inputs == null || !inputs.isArray() || inputs.size() != 1) {
      throw new IllegalArgumentException("inputs must hold exactly one tensor: text_input, text, image or audio");
    }
    JsonNode tensor = inputs.get(0);
    String name = tensor.path("name").asText("");
    if (!"BYTES".equals(tensor.path("datatype").asText(""))) {
      throw new IllegalArgumentException("tensor " + name + " must have datatype BYTES");
    }
    JsonNode data = tensor.get("data");
    if (data == null || !data.isArray() || data.isEmpty()) {
      throw new IllegalArgumentException("tensor " + name + " needs data: an array of strings");
    }
    for (JsonNode d : data) {
      if (!d.isTextual()) {
        throw new IllegalArgumentException("tensor " + name + " data must be strings");
      }
    }
    switch (name) {
      case "text_input" -> {
        if (data.size() != 1) {
          throw new IllegalArgumentException("text_input takes one prompt (shape [1])");
        }
        JsonNode maxTokens = json.path("parameters").path("max_tokens");
        if (!maxTokens.isMissingNode() && !(maxTokens.isIntegralNumber() && maxTokens.canConvertToInt())) {
          throw new IllegalArgumentException("parameters.max_tokens must be an integer between 0 and "
              + OpenAiRoutes.MAX_TOKENS);
        }
        req.setText(TextInput.newBuilder().setPrompt(data.get(0).asText())
            .setMaxTokens(maxTokens.isMissingNode() ? 0 : maxTokens.asInt()));
      }
      case "text" -> {
        EmbeddingInput.Builder e = EmbeddingInput.newBuilder();
        data.forEach(d -> e.addInputs(d.asText()));
        req.setEmbedding(e);
      }
      case "image" -> {
        if (data.size() != 1) {
          throw new IllegalArgumentException("image takes one image (shape [1])");
        }
        try {
          req.setImage(ImageInput.newBuilder().setData(ByteString.copyFrom(Base64.getDecoder()
              .decode(data.get(0).asText()))));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("image data must be the image file's bytes in base64: " + e.getMessage());
        }
      }
      case "audio" -> {
        if (data.size() != 1) {
          throw new IllegalArgumentException("audio takes one file (shape [1])");
        }
        try {
          req.setAudio(aimos.api.v1.AudioInput.newBuilder().setData(ByteString.copyFrom(Base64.getDecoder()
              .decode(data.get(0).asText()))).setGrammar(json.path("parameters").path("grammar").asText("")));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("audio data must be the file's bytes in base64: " + e.getMessage());
        }
      }
      default -> throw new IllegalArgumentException("unknown input tensor '" + name + "': send text_input (text "
          + "models), text (embeddings models), image (vision models) or audio (speech models)");
    }
  }

  private static ObjectNode answer(InferResponse r) {
    ObjectNode root = JSON.createObjectNode().put("model_name", r.getModel()).put("model_version", r.getVersion())
        .put("id", r.getRequestId());
    ObjectNode usage = root.putObject("parameters").put("prompt_tokens", r.getUsage().getPromptTokens())
        .put("completion_tokens", r.getUsage().getCompletionTokens()).put("images", r.getUsage().getImages())
        .put("audio_millis", r.getUsage().getAudioMillis()).put("charge_usd", r.getUsage().getChargeUsd())
        .put("replayed", r.getReplayed());
    ArrayNode outputs = root.putArray("outputs");
    switch (r.getOutputCase()) {
      case EMBEDDING -> {
        var data = r.getEmbedding().getDataList();
        ObjectNode t = outputs.addObject().put("name", "embedding").put("datatype", "FP32");
        t.putArray("shape").add(data.size()).add(data.isEmpty() ? 0 : data.get(0).getValuesCount());
        ArrayNode values = t.putArray("data");
        data.forEach(v -> v.getValuesList().forEach(values::add));
      }
      case TRANSCRIPT -> {
        ObjectNode t = outputs.addObject().put("name", "text").put("datatype", "BYTES");
        t.putArray("shape").add(1);
        t.putArray("data").add(r.getTranscript().getText());
      }
      case IMAGE -> {
        var image = r.getImage();
        if (image.getLabelsCount() > 0) {
          ObjectNode labels = outputs.addObject().put("name", "label").put("datatype", "BYTES");
          labels.putArray("shape").add(image.getLabelsCount());
          ObjectNode scores = outputs.addObject().put("name", "score").put("datatype", "FP32");
          scores.putArray("shape").add(image.getLabelsCount());
          image.getLabelsList().forEach(l -> {
            ((ArrayNode) labels.withArray("data")).add(l.getLabel());
            ((ArrayNode) scores.withArray("data")).add(l.getScore());
          });
        } else {
          ObjectNode text = outputs.addObject().put("name", "text").put("datatype", "BYTES");
          text.putArray("shape").add(1);
          text.putArray("data").add(image.getText());
          ObjectNode confidence = outputs.addObject().put("name", "confidence").put("datatype", "FP32");
          confidence.putArray("shape").add(1);
          confidence.putArray("data").add(image.getConfidence());
        }
      }
      case OUTPUT_NOT_SET -> {
        // a replayed request: its usage, no output
      }
      default -> {
        ObjectNode t = outputs.addObject().put("name", "text_output").put("datatype", "BYTES");
        t.putArray("shape").add(1);
        t.putArray("data").add(r.getText().getCompletion());
      }
    }
    return root;
  }

  private static HttpResponse failure(Throwable err) {
    HttpFailure f = HttpFailure.of(err);
    HttpResponse response = error(f.status(), f.message());
    for (var h : f.retryHeaders()) {
      response = response.addHeader(h);
    }
    return response;
  }

  static HttpResponse error(StatusCode status, String message) {
    return json(status, JSON.createObjectNode().put("error", message));
  }

  private static HttpResponse json(StatusCode status, ObjectNode body) {
    return HttpResponse.create().withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toString()));
  }
}
