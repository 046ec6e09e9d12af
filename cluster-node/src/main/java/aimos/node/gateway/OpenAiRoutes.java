package aimos.node.gateway;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.TextInput;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
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
 */
public final class OpenAiRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final int MAX_TOKENS = 4096;

  private final InferenceGateway gateway;
  private final long maxBodyBytes;

  public OpenAiRoutes(InferenceGateway gateway, long maxBodyBytes) {
    this.gateway = gateway;
    this.maxBodyBytes = maxBodyBytes;
  }

  public Route route() {
    Route tooLarge = complete(RestRoutes.error(StatusCodes.PAYLOAD_TOO_LARGE,
        "the request body is larger than " + maxBodyBytes + " bytes", "invalid_request_error"));
    Route inference = concat(
        path(PathMatchers.segment("v1").slash("completions"), () -> post(() -> serve(this::completion))),
        path(PathMatchers.segment("v1").slash("chat").slash("completions"), () -> post(() -> serve(this::chat))));
    return handleRejections(RejectionHandler.newBuilder()
            .handle(MalformedRequestContentRejection.class, r -> r.getCause() instanceof EntityStreamSizeException
                ? tooLarge
                : complete(RestRoutes.error(StatusCodes.BAD_REQUEST, "the body could not be read: " + r.message(),
                    "invalid_request_error")))
            .build(),
        () -> handleExceptions(ExceptionHandler.newBuilder().match(EntityStreamSizeException.class, e -> tooLarge)
            .build(), () -> inference));
  }

  private Route serve(BiFunction<JsonNode, InferRequest.Builder, BiFunction<InferResponse, Integer, ObjectNode>> kind) {
    return optionalHeaderValueByName("Authorization", auth ->
        optionalHeaderValueByName("Idempotency-Key", idempotencyKey ->
            optionalHeaderValueByName("X-Request-Id", xRequestId ->
                withSizeLimit(maxBodyBytes, () -> entity(Unmarshaller.entityToString(), body -> {
                  JsonNode json;
                  InferRequest.Builder req = InferRequest.newBuilder();
                  BiFunction<InferResponse, Integer, ObjectNode> render;
                  try {
                    json = JSON.readTree(body);
                    if (json == null || !json.isObject()) {
                      throw new IllegalArgumentException("the body must be a JSON object");
                    }
                    req.setModel(text(json, "model", true));
                    idempotencyKey.or(() -> xRequestId).ifPresent(req::setRequestId);
                    if (json.path("stream").asBoolean(false)) {
                      throw new IllegalArgumentException("stream: true is not served on this endpoint yet; send "
                          + "\"stream\": false (or leave it out)");
                    }
                    if (json.has("n") && json.get("n").asInt(0) != 1) {
                      throw new IllegalArgumentException("n must be 1: one choice per request");
                    }
                    render = kind.apply(json, req);
                  } catch (JsonProcessingException e) {
                    return complete(RestRoutes.error(StatusCodes.BAD_REQUEST, "the body is not valid JSON: "
                        + e.getOriginalMessage(), "invalid_request_error"));
                  } catch (IllegalArgumentException e) {
                    return complete(RestRoutes.error(StatusCodes.BAD_REQUEST, e.getMessage(), "invalid_request_error"));
                  }
                  Metadata metadata = new MetadataBuilder().addText("authorization", auth.orElse("")).build();
                  int maxTokens = req.getText().getMaxTokens();
                  CompletionStage<HttpResponse> response = gateway.infer(req.build(), metadata).handle((r, err) ->
                      err == null ? ok(render.apply(r, maxTokens), r.getRequestId()) : failure(err));
                  return completeWithFuture(response);
                })))));
  }

  /** {@code /v1/completions}: {"model", "prompt", "max_tokens"?}. */
  private BiFunction<InferResponse, Integer, ObjectNode> completion(JsonNode json, InferRequest.Builder req) {
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
    return (r, max) -> {
      ObjectNode root = envelope("cmpl-", "text_completion", r);
      ObjectNode choice = root.putArray("choices").addObject();
      choice.put("text", r.getText().getCompletion()).put("index", 0).putNull("logprobs")
          .put("finish_reason", finishReason(r, max));
      usage(root, r);
      return root;
    };
  }

  /** {@code /v1/chat/completions}: {"model", "messages": [{"role", "content"}], "max_tokens"?}. */
  private BiFunction<InferResponse, Integer, ObjectNode> chat(JsonNode json, InferRequest.Builder req) {
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
    return (r, max) -> {
      ObjectNode root = envelope("chatcmpl-", "chat.completion", r);
      ObjectNode choice = root.putArray("choices").addObject();
      choice.put("index", 0);
      choice.putObject("message").put("role", "assistant").put("content", r.getText().getCompletion());
      choice.putNull("logprobs");
      choice.put("finish_reason", finishReason(r, max));
      usage(root, r);
      return root;
    };
  }

  /** A message's content: a string, or an array of parts of which the text parts count. */
  private static String content(JsonNode content) {
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
        sb.append(part.path("text").asText());
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

  private static String text(JsonNode json, String field, boolean required) {
    JsonNode n = json.get(field);
    if (n == null || !n.isTextual() || n.asText().isEmpty()) {
      if (required) {
        throw new IllegalArgumentException(field + " is required: a string");
      }
      return "";
    }
    return n.asText();
  }

  private static String finishReason(InferResponse r, int maxTokens) {
    return maxTokens > 0 && r.getUsage().getCompletionTokens() >= maxTokens ? "length" : "stop";
  }

  private static ObjectNode envelope(String prefix, String object, InferResponse r) {
    ObjectNode root = JSON.createObjectNode();
    root.put("id", prefix + r.getRequestId()).put("object", object)
        .put("created", System.currentTimeMillis() / 1000).put("model", r.getModel());
    root.put("system_fingerprint", r.getModel() + "@" + r.getVersion());
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

  /** A gRPC status from the gateway as OpenAI's error: the HTTP status clients retry on, and a message to act on. */
  static HttpResponse failure(Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (!(t instanceof GrpcServiceException g)) {
      return RestRoutes.error(StatusCodes.INTERNAL_SERVER_ERROR, "internal error; see the node's log", "server_error");
    }
    Status status = g.getStatus();
    String message = Optional.ofNullable(status.getDescription()).orElse(status.getCode().name());
    StatusCode http = switch (status.getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> StatusCodes.BAD_REQUEST;
      case UNAUTHENTICATED -> StatusCodes.UNAUTHORIZED;
      case PERMISSION_DENIED -> StatusCodes.FORBIDDEN;
      case NOT_FOUND -> StatusCodes.NOT_FOUND;
      case RESOURCE_EXHAUSTED -> StatusCodes.TOO_MANY_REQUESTS;
      case UNAVAILABLE -> StatusCodes.SERVICE_UNAVAILABLE;
      case DEADLINE_EXCEEDED -> StatusCodes.GATEWAY_TIMEOUT;
      default -> StatusCodes.INTERNAL_SERVER_ERROR;
    };
    String type = switch (status.getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED ->
          "invalid_request_error";
      case RESOURCE_EXHAUSTED -> message.startsWith("monthly_budget") ? "insufficient_quota" : "rate_limit_exceeded";
      default -> "server_error";
    };
    HttpResponse response = RestRoutes.error(http, message, type);
    String retryAfterMs = g.getMetadata().getText("retry-after-ms").orElse(null);
    if (retryAfterMs != null) {
      long seconds = Math.max(1, (Long.parseLong(retryAfterMs) + 999) / 1000);
      response = response.addHeader(RawHeader.create("Retry-After", Long.toString(seconds)))
          .addHeader(RawHeader.create("retry-after-ms", retryAfterMs));
    }
    return response;
  }
}
