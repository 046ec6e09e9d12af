package aimos.node.admin;

import aimos.billing.webhook.WebhookEndpoints;
import aimos.billing.webhook.WebhookException;
import aimos.node.BoundedBody;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tenant's webhook endpoints over HTTP, the same for the admin API ({@code /admin/tenants/{id}/webhooks}) and for
 * the tenant itself ({@code /v1/webhooks}, the tenant being the one its API key names); each API passes its own error
 * format. Routes, relative to the prefix:
 * <pre>
 *   GET    /                         list (never a secret)
 *   POST   /                         register {"url", "eventTypes"?, "description"?}; the secret is shown once
 *   GET    /{endpoint}               one endpoint
 *   DELETE /{endpoint}               delete (its pending deliveries are cancelled)
 *   POST   /{endpoint}/disable       stop deliveries
 *   POST   /{endpoint}/enable        resume them (the target is checked again)
 *   POST   /{endpoint}/rotate-secret a new secret, shown once; the previous one also signs during the overlap
 *   GET    /{endpoint}/deliveries    newest deliveries with every attempt (?limit=1..200, default 50)
 * </pre>
 */
public final class WebhookRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(WebhookRoutes.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Registration documents are small. */
  static final long MAX_BODY_BYTES = 16 * 1024;

  private final WebhookEndpoints endpoints;
  private final BiFunction<StatusCode, String, HttpResponse> error;

  /** {@code error}: how this API writes an error with its HTTP status. */
  public WebhookRoutes(WebhookEndpoints endpoints, BiFunction<StatusCode, String, HttpResponse> error) {
    this.endpoints = endpoints;
    this.error = error;
  }

  private static final java.util.regex.Pattern ONE_ENDPOINT =
      java.util.regex.Pattern.compile("/([^/]+)(/disable|/enable|/rotate-secret)?");

  /**
   * For the audit record of a change under these routes: the endpoint it names, or the tenant's endpoints before a
   * new one. {@code path} is what follows the prefix ("", "/" or "/{endpoint}[/disable|/enable|/rotate-secret]").
   */
  public CompletionStage<Object> before(String tenantId, String path) {
    java.util.regex.Matcher one = ONE_ENDPOINT.matcher(path);
    if (one.matches()) {
      return endpoints.get(tenantId, one.group(1)).thenApply(e -> (Object) e);
    }
    return endpoints.list(tenantId).thenApply(l -> (Object) l);
  }

  /**
   * The routes for {@code tenantId}, already authorized; {@code tenantExists} runs before anything else (the admin
   * API checks the tenant, the gateway already knows it from the key).
   */
  public Route route(String tenantId, Supplier<CompletionStage<?>> tenantExists) {
    return concat(
        pathEndOrSingleSlash(() -> concat(
            get(() -> respond(StatusCodes.OK, () -> tenantExists.get().thenCompose(t -> endpoints.list(tenantId)))),
            post(() -> jsonBody(body -> respond(StatusCodes.CREATED, () -> {
              Registration r = registration(body);
              return tenantExists.get().thenCompose(t -> endpoints.register(tenantId, r.url(), r.eventTypes(),
                  r.description()));
            }))),
            notAllowed("GET or POST"))),
        pathPrefix(PathMatchers.segment(), endpoint -> concat(
            pathEnd(() -> concat(
                get(() -> respond(StatusCodes.OK, () -> tenantExists.get()
                    .thenCompose(t -> endpoints.get(tenantId, endpoint)))),
                delete(() -> respond(StatusCodes.OK, () -> tenantExists.get()
                    .thenCompose(t -> endpoints.delete(tenantId, endpoint)))),
                notAllowed("GET or DELETE"))),
            path("disable", () -> concat(post(() -> respond(StatusCodes.OK, () -> tenantExists.get()
                .thenCompose(t -> endpoints.disable(tenantId, endpoint)))), notAllowed("POST"))),
            path("enable", () -> concat(post(() -> respond(StatusCodes.OK, () -> tenantExists.get()
                .thenCompose(t -> endpoints.enable(tenantId, endpoint)))), notAllowed("POST"))),
            path("rotate-secret", () -> concat(post(() -> respond(StatusCodes.OK, () -> tenantExists.get()
                .thenCompose(t -> endpoints.rotateSecret(tenantId, endpoint)))), notAllowed("POST"))),
            path("deliveries", () -> concat(get(() -> parameterOptional("limit", limit -> respond(StatusCodes.OK,
                () -> tenantExists.get().thenCompose(t -> endpoints.deliveries(tenantId, endpoint, limit))))),
                notAllowed("GET"))),
            complete(error.apply(StatusCodes.NOT_FOUND, "no such webhook route: use /{endpoint}, "
                + "/{endpoint}/disable, /enable, /rotate-secret or /deliveries"))
        )));
  }

  private Route notAllowed(String methods) {
    return extractMethod(m -> complete(error.apply(StatusCodes.METHOD_NOT_ALLOWED,
        m.name() + " is not allowed here; use " + methods)));
  }

  record Registration(String url, List<String> eventTypes, String description) {}

  static Registration registration(JsonNode body) {
    JsonNode url = body.get("url");
    if (url == null || !url.isTextual() || url.asText().isBlank()) {
      throw new IllegalArgumentException("field 'url' is required, for example \"https://example.com/aimos\"");
    }
    List<String> types = null;
    JsonNode t = body.get("eventTypes");
    if (t != null && !t.isNull()) {
      if (!t.isArray() || t.size() > 20) {
        throw new IllegalArgumentException("field 'eventTypes' must be a list of event types, for example "
            + "[\"invoice.finalized\", \"budget.threshold_crossed\"]");
      }
      types = new ArrayList<>();
      for (JsonNode e : t) {
        if (!e.isTextual()) {
          throw new IllegalArgumentException("field 'eventTypes' must hold strings");
        }
        types.add(e.asText());
      }
    }
    JsonNode d = body.get("description");
    if (d != null && !d.isNull() && !d.isTextual()) {
      throw new IllegalArgumentException("field 'description' must be a string");
    }
    for (var it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("url") && !f.equals("eventTypes") && !f.equals("description")) {
        throw new IllegalArgumentException("unknown field '" + f + "'; an endpoint has url, eventTypes and "
            + "description");
      }
    }
    return new Registration(url.asText(), types, d == null || d.isNull() ? null : d.asText());
  }

  // ---- bodies and answers ----

  /** A JSON object body of at most {@link #MAX_BODY_BYTES}, else a 400 or 413 in this API's format. */
  public Route jsonBody(Function<JsonNode, Route> inner) {
    return handleRejections(org.apache.pekko.http.javadsl.server.RejectionHandler.newBuilder()
            .handle(org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection.class, r ->
                complete(error.apply(StatusCodes.BAD_REQUEST, "the body could not be read: " + r.message())))
            .build(),
        () -> BoundedBody.atMost(MAX_BODY_BYTES, () -> error.apply(StatusCodes.PAYLOAD_TOO_LARGE,
            "the body is larger than " + MAX_BODY_BYTES + " bytes"), () -> entity(Unmarshaller.entityToString(), body -> {
          JsonNode node;
          try {
            node = JSON.readTree(body);
          } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return complete(error.apply(StatusCodes.BAD_REQUEST, "the body is not valid JSON: "
                + e.getOriginalMessage()));
          }
          if (node == null || !node.isObject()) {
            return complete(error.apply(StatusCodes.BAD_REQUEST, "the body must be a JSON object"));
          }
          return inner.apply(node);
        })));
  }

  public <T> Route respond(StatusCode success, Supplier<CompletionStage<T>> action) {
    CompletionStage<T> stage;
    try {
      stage = action.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return completeWithFuture(stage.handle((value, err) -> err == null ? json(success, value) : failure(err)));
  }

  private static HttpResponse json(StatusCode status, Object value) {
    try {
      return HttpResponse.create().withStatus(status)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(value)));
    } catch (Exception e) {
      throw new IllegalStateException("cannot write JSON for " + value.getClass(), e);
    }
  }

  /** Typed outcomes to HTTP: refusals say what to fix; the store not answering is a 503 to retry. */
  HttpResponse failure(Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof WebhookException w) {
      return error.apply(switch (w.kind()) {
        case INVALID -> StatusCodes.BAD_REQUEST;
        case NOT_FOUND -> StatusCodes.NOT_FOUND;
        case CONFLICT -> StatusCodes.CONFLICT;
      }, w.getMessage());
    }
    if (t instanceof IllegalArgumentException) {
      return error.apply(StatusCodes.BAD_REQUEST, t.getMessage());
    }
    if (t instanceof StatusReply.ErrorMessage) {
      return error.apply(t.getMessage().contains("does not exist") ? StatusCodes.NOT_FOUND : StatusCodes.BAD_REQUEST,
          t.getMessage());
    }
    if (t instanceof TimeoutException || t instanceof com.datastax.oss.driver.api.core.DriverException) {
      log.warn("Webhook request failed: {}", t.toString());
      return error.apply(StatusCodes.SERVICE_UNAVAILABLE, "the cluster or its store did not answer in time; try again");
    }
    log.error("Webhook request failed", t);
    return error.apply(StatusCodes.INTERNAL_SERVER_ERROR, "internal error; see the node's log");
  }
}
