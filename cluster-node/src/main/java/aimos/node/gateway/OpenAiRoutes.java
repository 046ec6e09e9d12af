package aimos.node.gateway;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.TextInput;
import aimos.node.BoundedBody;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import aimos.api.v1.InferStreamResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;

/**
 * OpenAI-compatible text endpoints on the gateway port: {@code POST /v1/completions} and
 * {@code POST /v1/chat/completions}. Each request becomes an {@link InferRequest} served by the same
 * {@link InferenceGateway} path as gRPC, so keys, quotas, metering and idempotency are the same: the
 * {@code Idempotency-Key} (or {@code X-Request-Id}) header is the request id, and a retry with it is billed once.
 * Usage comes back in OpenAI's {@code usage} object, errors in OpenAI's error object with the matching HTTP status.
 * {@code "stream": true} answers with server-sent events as the model produces its text.
 */
public final class OpenAiRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final int MAX_TOKENS = 4096;

  private final InferenceGateway gateway;
  private final long maxBodyBytes;
  private final java.time.Duration timeout;

  /**
   * {@code timeout} bounds each request; it must exceed the longest path through the gateway, so that the gateway
   * (which records usage only for answers it gives) always answers first.
   */
  public OpenAiRoutes(InferenceGateway gateway, long maxBodyBytes, java.time.Duration timeout) {
    this.gateway = gateway;
    this.maxBodyBytes = maxBodyBytes;
    this.timeout = timeout;
  }

  private HttpResponse tooLarge() {
    return RestRoutes.error(StatusCodes.PAYLOAD_TOO_LARGE, "the request body is larger than " + maxBodyBytes
        + " bytes", "invalid_request_error");
  }

  public Route route() {
    Route inference = concat(
        path(PathMatchers.segment("v1").slash("completions"), () -> post(() -> serve(completions))),
        path(PathMatchers.segment("v1").slash("chat").slash("completions"), () -> post(() -> serve(chat))),
        path(PathMatchers.segment("v1").slash("embeddings"), () -> post(this::embeddings)),
        path(PathMatchers.segment("v1").slash("audio").slash("transcriptions"), () -> post(this::transcriptions)));
    return handleRejections(RejectionHandler.newBuilder()
            .handle(MalformedRequestContentRejection.class, r -> complete(RestRoutes.error(StatusCodes.BAD_REQUEST,
                "the body could not be read: " + r.message(), "invalid_request_error")))
            .build(),
        () -> inference);
  }

  /** How one endpoint reads its body and shapes its answers, whole or streamed. */
  private interface Shape {
    /** Reads the endpoint's fields of the body into the request. */
    void read(JsonNode json, InferRequest.Builder req);

    String idPrefix();

    String object(boolean chunk);

    /** The choice of a whole answer. */
    void choice(ObjectNode choice, InferResponse r, String finishReason);

    /** The choice of a streamed piece; {@code first} for the first chunk of a stream. */
    void delta(ObjectNode choice, String text, boolean first);
  }

  private final Shape completions = new Shape() {
    @Override
    public void read(JsonNode json, InferRequest.Builder req) {
      JsonNode prompt = json.get("prompt");
      String text;
      if (prompt != null && prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
        text = prompt.get(0).asText();
      } else if (prompt != null && prompt.isTextual()) {
        text = prompt.asText();
      } else {
        throw new IllegalArgumentException("prompt is required: a string (or an array of one string)");
      }
      req.setText(TextInput.newBuilder().setPrompt(text).setMaxTokens(maxTokens(json)));
    }

    @Override
    public String idPrefix() {
      return "cmpl-";
    }

    @Override
    public String object(boolean chunk) {
      return "text_completion";
    }

    @Override
    public void choice(ObjectNode choice, InferResponse r, String finishReason) {
      choice.put("text", r.getText().getCompletion()).putNull("logprobs").put("finish_reason", finishReason);
    }

    @Override
    public void delta(ObjectNode choice, String text, boolean first) {
      choice.put("text", text).putNull("logprobs").putNull("finish_reason");
    }
  };

  private final Shape chat = new Shape() {
    @Override
    public void read(JsonNode json, InferRequest.Builder req) {
      JsonNode messages = json.get("messages");
      if (messages == null || !messages.isArray() || messages.isEmpty()) {
        throw new IllegalArgumentException("messages is required: a non-empty array of {\"role\", \"content\"}");
      }
      StringBuilder prompt = new StringBuilder();
      for (JsonNode m : messages) {
        String role = m.path("role").asText("");
        if (!java.util.Set.of("system", "developer", "user", "assistant", "tool").contains(role)) {
          throw new IllegalArgumentException("each message needs a role: system, developer, user, assistant or tool");
        }
        prompt.append(prompt.length() == 0 ? "" : "\n").append(content(m.get("content")));
      }
      req.setText(TextInput.newBuilder().setPrompt(prompt.toString()).setMaxTokens(maxTokens(json)));
    }

    @Override
    public String idPrefix() {
      return "chatcmpl-";
    }

    @Override
    public String object(boolean chunk) {
      return chunk ? "chat.completion.chunk" : "chat.completion";
    }

    @Override
    public void choice(ObjectNode choice, InferResponse r, String finishReason) {
      choice.putObject("message").put("role", "assistant").put("content", r.getText().getCompletion());
      choice.putNull("logprobs").put("finish_reason", finishReason);
    }

    @Override
    public void delta(ObjectNode choice, String text, boolean first) {
      ObjectNode delta = choice.putObject("delta");
      if (first) {
        delta.put("role", "assistant");
      }
      delta.put("content", text);
      choice.putNull("logprobs").putNull("finish_reason");
    }
  };

  /** What an endpoint does with a request whose body is a JSON object naming a model. */
  private interface JsonEndpoint {
    Route serve(JsonNode json, InferRequest.Builder req, Metadata caller);
  }

  /**
   * The caller's key as gateway metadata, and the request id: the {@code Idempotency-Key} (or {@code X-Request-Id})
   * header, else a fresh one. The request is bounded by the route's timeout, answered as OpenAI's error object.
   */
  private Route withCaller(java.util.function.BiFunction<Metadata, String, Route> inner) {
    return optionalHeaderValueByName("Authorization", auth ->
        optionalHeaderValueByName(CallTiming.SLOT_HEADER, slot ->
        optionalHeaderValueByName("Idempotency-Key", idempotencyKey ->
            optionalHeaderValueByName("X-Request-Id", xRequestId -> {
              String requestId = idempotencyKey.or(() -> xRequestId).orElse(UUID.randomUUID().toString());
              return respondWithDefaultHeader(RawHeader.create("x-request-id", requestId), () ->
                  withRequestTimeout(timeout, request -> timedOut(requestId), () -> inner.apply(
                      CallTiming.restMetadata(auth, slot), requestId)));
            }))));
  }

  /** The answer to a request that took longer than the route allows; its usage, if any, was not recorded. */
  static HttpResponse timedOut(String requestId) {
    return RestRoutes.error(StatusCodes.GATEWAY_TIMEOUT, "request " + requestId + " was not answered within the "
        + "gateway's time limit; retry with the same Idempotency-Key", "server_error", "timeout")
        .addHeader(RawHeader.create("x-request-id", requestId));
  }

  /** Reads a JSON body of at most {@code maxBodyBytes}; bad JSON and bad fields are 400s that say what to fix. */
  private Route jsonRequest(JsonEndpoint endpoint) {
    return withCaller((caller, requestId) -> BoundedBody.atMost(maxBodyBytes, this::tooLarge, () ->
        entity(Unmarshaller.entityToString(), body -> {
          try {
            JsonNode json = JSON.readTree(body);
            if (json == null || !json.isObject()) {
              throw new IllegalArgumentException("the body must be a JSON object");
            }
            return endpoint.serve(json, InferRequest.newBuilder().setModel(text(json, "model")).setRequestId(requestId),
                caller);
          } catch (JsonProcessingException e) {
            return complete(RestRoutes.error(StatusCodes.BAD_REQUEST, "the body is not valid JSON: "
                + e.getOriginalMessage(), "invalid_request_error"));
          } catch (IllegalArgumentException e) {
            return complete(RestRoutes.error(StatusCodes.BAD_REQUEST, e.getMessage(), "invalid_request_error"));
          }
        })));
  }

  private Route serve(Shape shape) {
    return jsonRequest((json, req, caller) -> {
      if (json.has("n") && json.get("n").asInt(0) != 1) {
        throw new IllegalArgumentException("n must be 1: one choice per request");
      }
      shape.read(json, req);
      InferRequest in = req.build();
      if (json.path("stream").asBoolean(false)) {
        boolean includeUsage = json.path("stream_options").path("include_usage").asBoolean(false);
        return completeWithFuture(gateway.startStream(in, caller).handle((source, err) ->
            err == null ? events(shape, in, source, includeUsage) : failure(err)));
      }
      return completeWithFuture(gateway.infer(in, caller).handle((r, err) ->
          err == null ? ok(whole(shape, r, in.getText().getMaxTokens()), r.getRequestId()) : failure(err)));
    });
  }

  /**
   * {@code /v1/embeddings}: {"model", "input": string or array of strings, "encoding_format"?: "float" or "base64"}.
   * Vectors come back in input order; base64 is the little-endian float32 bytes, as OpenAI sends them.
   */
  private Route embeddings() {
    return jsonRequest((json, req, caller) -> {
      String format = json.path("encoding_format").asText("float");
      if (!format.equals("float") && !format.equals("base64")) {
        throw new IllegalArgumentException("encoding_format must be \"float\" or \"base64\"");
      }
      if (json.has("dimensions")) {
        throw new IllegalArgumentException("dimensions is not supported: each model returns its own size (see "
            + "/v1/models); leave it out");
      }
      aimos.api.v1.EmbeddingInput.Builder input = aimos.api.v1.EmbeddingInput.newBuilder();
      JsonNode in = json.get("input");
      if (in != null && in.isTextual()) {
        input.addInputs(in.asText());
      } else if (in != null && in.isArray() && in.size() > 0) {
        for (JsonNode item : in) {
          if (!item.isTextual()) {
            throw new IllegalArgumentException("input must be a string or an array of strings (token arrays are not "
                + "accepted)");
          }
          input.addInputs(item.asText());
        }
      } else {
        throw new IllegalArgumentException("input is required: a string or a non-empty array of strings");
      }
      boolean base64 = format.equals("base64");
      return completeWithFuture(gateway.infer(req.setEmbedding(input).build(), caller).handle((r, err) ->
          err != null ? failure(err) : !r.hasEmbedding() && !r.getReplayed()
              ? RestRoutes.error(StatusCodes.BAD_REQUEST, "model " + r.getModel() + " is not an embeddings model",
                  "invalid_request_error")
              : ok(embeddingList(r, base64), r.getRequestId())));
    });
  }

  /**
   * {@code /v1/audio/transcriptions}: multipart/form-data with {@code file} (WAV, AIFF or AU), {@code model},
   * optionally {@code language} (English only), {@code response_format} ({@code json}, {@code text} or
   * {@code verbose_json}) and {@code grammar}, a JSGF grammar that limits recognition to what it allows.
   */
  private Route transcriptions() {
    return withCaller((caller, requestId) ->
                BoundedBody.atMost(maxBodyBytes, this::tooLarge, () -> extractMaterializer(materializer ->
                    entity(Unmarshaller.entityToMultipartFormData(), form ->
                        onComplete(form.toStrict(30_000, materializer), strict -> {
                          if (strict.isFailure()) {
                            return complete(strict.failed().get() instanceof EntityStreamSizeException
                                ? tooLarge()
                                : RestRoutes.error(StatusCodes.BAD_REQUEST, "the body could not be read as "
                                    + "multipart/form-data: " + strict.failed().get().getMessage(),
                                    "invalid_request_error"));
                          }
                          java.util.Map<String, org.apache.pekko.util.ByteString> fields = new java.util.HashMap<>();
                          for (var part : strict.get().getStrictParts()) {
                            fields.put(part.getName(), part.getEntity().getData());
                          }
                          String format = fields.containsKey("response_format")
                              ? fields.get("response_format").utf8String() : "json";
                          String language = fields.containsKey("language") ? fields.get("language").utf8String() : "en";
                          String problem = !fields.containsKey("file") ? "file is required: the audio (WAV, AIFF or AU)"
                              : !fields.containsKey("model") || fields.get("model").isEmpty() ? "model is required"
                              : !java.util.Set.of("json", "text", "verbose_json").contains(format)
                                  ? "response_format must be json, text or verbose_json"
                              : !language.toLowerCase().startsWith("en") ? "language must be en: the model is English"
                              : null;
                          if (problem != null) {
                            return complete(RestRoutes.error(StatusCodes.BAD_REQUEST, problem,
                                "invalid_request_error"));
                          }
                          InferRequest in = InferRequest.newBuilder()
                              .setModel(fields.get("model").utf8String())
                              .setRequestId(requestId)
                              .setAudio(aimos.api.v1.AudioInput.newBuilder()
                                  .setData(com.google.protobuf.ByteString.copyFrom(fields.get("file").toArray()))
                                  .setGrammar(fields.containsKey("grammar") ? fields.get("grammar").utf8String() : ""))
                              .build();
                          return completeWithFuture(gateway.infer(in, caller).handle((r, err) ->
                              err != null ? failure(err) : !r.hasTranscript() && !r.getReplayed()
                                  ? RestRoutes.error(StatusCodes.BAD_REQUEST, "model " + r.getModel() + " is not a "
                                      + "speech model", "invalid_request_error")
                                  : transcript(r, format)));
                        })))));
  }

  private static HttpResponse transcript(InferResponse r, String format) {
    if (format.equals("text")) {
      return HttpResponse.create().withStatus(StatusCodes.OK).addHeader(RawHeader.create("x-request-id",
          r.getRequestId())).withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, r.getTranscript().getText()));
    }
    ObjectNode root = JSON.createObjectNode();
    if (format.equals("verbose_json")) {
      root.put("task", "transcribe").put("language", "english")
          .put("duration", r.getTranscript().getDurationMillis() / 1000.0);
    }
    root.put("text", r.getTranscript().getText());
    root.putObject("usage").put("type", "duration").put("seconds", r.getUsage().getAudioMillis() / 1000)
        .put("charge_usd", r.getUsage().getChargeUsd()).put("replayed", r.getReplayed());
    return ok(root, r.getRequestId());
  }

  private static ObjectNode embeddingList(InferResponse r, boolean base64) {
    ObjectNode root = JSON.createObjectNode().put("object", "list");
    com.fasterxml.jackson.databind.node.ArrayNode data = root.putArray("data");
    for (int i = 0; i < r.getEmbedding().getDataCount(); i++) {
      var values = r.getEmbedding().getData(i).getValuesList();
      ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
      if (base64) {
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * values.size())
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        values.forEach(bytes::putFloat);
        item.put("embedding", java.util.Base64.getEncoder().encodeToString(bytes.array()));
      } else {
        com.fasterxml.jackson.databind.node.ArrayNode vector = item.putArray("embedding");
        values.forEach(vector::add);
      }
    }
    root.put("model", r.getModel());
    long tokens = r.getUsage().getPromptTokens();
    root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens)
        .put("charge_usd", r.getUsage().getChargeUsd()).put("replayed", r.getReplayed());
    return root;
  }

  private ObjectNode whole(Shape shape, InferResponse r, int maxTokens) {
    ObjectNode root = envelope(shape, false, r.getRequestId(), r.getModel());
    root.put("system_fingerprint", r.getModel() + "@" + r.getVersion());
    shape.choice(root.putArray("choices").addObject().put("index", 0), r, finishReason(r, maxTokens));
    usage(root, r);
    return root;
  }

  /**
   * Server-sent events as OpenAI streams them: a chunk per piece of text as the model produces it, a last chunk with
   * the finish reason, the usage chunk if {@code stream_options.include_usage}, then {@code [DONE]}. A failure after
   * the first byte ends the stream with an error event and no {@code [DONE]}: the request was not answered (nor
   * billed), and a retry with the same Idempotency-Key is safe.
   */
  private HttpResponse events(Shape shape, InferRequest in, Source<InferStreamResponse, NotUsed> source,
                              boolean includeUsage) {
    boolean[] first = {true};
    Source<ByteString, NotUsed> events = source.mapConcat(e -> {
      List<ObjectNode> out = new ArrayList<>();
      if (e.hasDelta()) {
        ObjectNode chunk = envelope(shape, true, in.getRequestId(), in.getModel());
        shape.delta(chunk.putArray("choices").addObject().put("index", 0), e.getDelta().getText(), first[0]);
        first[0] = false;
        out.add(chunk);
      } else {
        InferResponse r = e.getDone();
        ObjectNode last = envelope(shape, true, in.getRequestId(), in.getModel());
        last.put("system_fingerprint", r.getModel() + "@" + r.getVersion());
        ObjectNode choice = last.putArray("choices").addObject().put("index", 0);
        shape.delta(choice, "", first[0]);
        choice.put("finish_reason", finishReason(r, in.getText().getMaxTokens()));
        out.add(last);
        if (includeUsage) {
          ObjectNode usage = envelope(shape, true, in.getRequestId(), in.getModel());
          usage.putArray("choices");
          usage(usage, r);
          out.add(usage);
        }
      }
      return out;
    }).map(node -> ByteString.fromString("data: " + node + "\n\n"))
        .concat(Source.single(ByteString.fromString("data: [DONE]\n\n")))
        .recover(new PFBuilder<Throwable, ByteString>().matchAny(err -> {
          HttpFailure f = HttpFailure.of(err);
          return ByteString.fromString("data: " + RestRoutes.errorBody(f.message(), f.openAiType(), f.code()) + "\n\n");
        }).build());
    return HttpResponse.create().withStatus(StatusCodes.OK)
        .addHeader(RawHeader.create("x-request-id", in.getRequestId()))
        .addHeader(RawHeader.create("Cache-Control", "no-cache"))
        .withEntity(HttpEntities.createChunked(MediaTypes.TEXT_EVENT_STREAM.toContentType(), events));
  }

  /** A message's content: a string, or an array of text parts, one per line. */
  static String content(JsonNode content) {
    if (content != null && content.isTextual()) {
      return content.asText();
    }
    if (content != null && content.isArray()) {
      StringBuilder sb = new StringBuilder();
      for (JsonNode part : content) {
        if (!"text".equals(part.path("type").asText())) {
          throw new IllegalArgumentException("this endpoint takes text content parts only, not "
              + part.path("type").asText("(no type)"));
        }
        if (!part.path("text").isTextual()) {
          throw new IllegalArgumentException("a text content part needs \"text\": a string");
        }
        sb.append(sb.length() == 0 ? "" : "\n").append(part.path("text").asText());
      }
      return sb.toString();
    }
    throw new IllegalArgumentException("each message needs content: a string or an array of text parts");
  }

  private static int maxTokens(JsonNode json) {
    JsonNode n = json.has("max_completion_tokens") ? json.get("max_completion_tokens") : json.get("max_tokens");
    if (n == null || n.isNull()) {
      return 0;
    }
    if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 1 || n.asInt() > MAX_TOKENS) {
      throw new IllegalArgumentException("max_tokens must be an integer between 1 and " + MAX_TOKENS);
    }
    return n.asInt();
  }

  private static String text(JsonNode json, String field) {
    JsonNode n = json.get(field);
    if (n == null || !n.isTextual() || n.asText().isEmpty()) {
      throw new IllegalArgumentException(field + " is required: a string");
    }
    return n.asText();
  }

  private static String finishReason(InferResponse r, int maxTokens) {
    return maxTokens > 0 && r.getUsage().getCompletionTokens() >= maxTokens ? "length" : "stop";
  }

  private static ObjectNode envelope(Shape shape, boolean chunk, String requestId, String model) {
    ObjectNode root = JSON.createObjectNode();
    root.put("id", shape.idPrefix() + requestId).put("object", shape.object(chunk))
        .put("created", System.currentTimeMillis() / 1000).put("model", model);
    return root;
  }

  private static void usage(ObjectNode root, InferResponse r) {
    long prompt = r.getUsage().getPromptTokens();
    long completion = r.getUsage().getCompletionTokens();
    root.putObject("usage").put("prompt_tokens", prompt).put("completion_tokens", completion)
        .put("total_tokens", prompt + completion).put("charge_usd", r.getUsage().getChargeUsd())
        .put("replayed", r.getReplayed());
  }

  private static HttpResponse ok(ObjectNode body, String requestId) {
    return HttpResponse.create().withStatus(StatusCodes.OK)
        .addHeader(RawHeader.create("x-request-id", requestId))
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toString()));
  }

  /** A failure of the gateway as OpenAI's error: the HTTP status clients act on, a message and code to act on. */
  static HttpResponse failure(Throwable err) {
    HttpFailure f = HttpFailure.of(err);
    HttpResponse response = RestRoutes.error(f.status(), f.message(), f.openAiType(), f.code());
    for (var h : f.retryHeaders()) {
      response = response.addHeader(h);
    }
    return response;
  }
}
