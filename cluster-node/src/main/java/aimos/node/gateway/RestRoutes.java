package aimos.node.gateway;

import aimos.model.ModelEntity;
import aimos.node.admin.ModelCatalog;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The REST side of the gateway port, beside gRPC: OpenAI-compatible {@code /v1/models}, the inference routes
 * ({@link OpenAiRoutes}), the caller's own usage and ledger ({@link TenantUsageRoutes}) and the KServe Open
 * Inference Protocol health endpoints. Errors use OpenAI's error object.
 */
public final class RestRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelCatalog models;
  private final Route inference;
  private final KeyCheck keys;

  private final KnownNames directory;
  private final TenantUsageRoutes usage;

  public RestRoutes(ModelCatalog models, KnownNames directory, KeyCheck keys, Route inference,
                    TenantUsageRoutes usage) {
    this.models = models;
    this.usage = usage;
    this.directory = directory;
    this.inference = inference;
    this.keys = keys;
  }

  public Route route() {
    return concat(
        aimos.node.OpenApi.route(),
        inference,
        path(PathMatchers.segment("v2").slash("health").slash("live"), () -> get(() -> json(StatusCodes.OK, obj().put("live", true)))),
        path(PathMatchers.segment("v2").slash("health").slash("ready"), () -> get(() -> json(StatusCodes.OK, obj().put("ready", true)))),
        path(PathMatchers.segment("v1").slash("models"), () -> get(() -> authenticated(tenantId -> completeWithFuture(
            models.list().handle((views, err) -> err != null
                ? error(StatusCodes.SERVICE_UNAVAILABLE, "the model catalog did not answer; try again", "server_error")
                : response(StatusCodes.OK, modelList(views))))))),
        path(PathMatchers.segment("v1").slash("models").slash(PathMatchers.segment()), id -> get(() ->
            authenticated(tenantId -> completeWithFuture(retrieve(id))))),
        // the tenant comes from the key only
        pathPrefix(PathMatchers.segment("v1").slash("usage"), () -> authenticated(usage::route)),
        extractUnmatchedPath(p -> complete(error(StatusCodes.NOT_FOUND,
            "no route " + p + " on the gateway: it serves gRPC aimos.v1.InferenceService, GET /v1/models[/{id}], "
                + "GET /v1/usage[/daily|/hourly|/ledger|/ledger/export], /v1/keys[/...] and /v1/webhooks[/...] "
                + "(tenant-admin key), GET /v1/billing/usage, /v1/billing/invoices[/{number}], POST /v1/completions, "
                + "POST /v1/chat/completions, POST /v1/embeddings, GET /v2/health/live and "
                + "/v2/health/ready; GET /openapi.json describes them all",
            "invalid_request_error"))));
  }

  private static ObjectNode modelList(java.util.List<ModelEntity.ModelView> views) {
    ObjectNode root = obj().put("object", "list");
    ArrayNode data = root.putArray("data");
    views.forEach(v -> data.add(model(v)));
    return root;
  }

  /** A model as OpenAI's model object. */
  private static ObjectNode model(ModelEntity.ModelView v) {
    long created = v.versions().isEmpty() ? 0 : v.versions().get(0).registeredAtMillis() / 1000;
    return obj().put("id", v.name()).put("object", "model").put("created", created).put("owned_by", "aimos");
  }

  /** {@code GET /v1/models/{id}}: a registered model, else 404 model_not_found (no entity started for the name). */
  private CompletionStage<HttpResponse> retrieve(String id) {
    HttpResponse missing = error(StatusCodes.NOT_FOUND, "The model '" + id + "' does not exist; GET /v1/models "
        + "lists the models you can call", "invalid_request_error", "model_not_found");
    if (!ModelEntity.isValidName(id)) {
      return java.util.concurrent.CompletableFuture.completedFuture(missing);
    }
    return directory.contains(id).thenCompose(known -> !known
        ? java.util.concurrent.CompletableFuture.completedFuture(missing)
        : models.get(id).thenApply(view -> response(StatusCodes.OK, model(view))))
        .exceptionally(err -> error(StatusCodes.SERVICE_UNAVAILABLE, "the model catalog did not answer; try again",
            "server_error"));
  }

  private Route authenticated(Function<String, Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> onComplete(keys.tenantOf(header), result -> {
      if (result.isFailure()) {
        return complete(error(StatusCodes.SERVICE_UNAVAILABLE, "the tenant service did not answer; try again",
            "server_error"));
      }
      return result.get().map(inner).orElseGet(() -> complete(error(StatusCodes.UNAUTHORIZED, "missing, invalid or "
          + "revoked API key: send 'Authorization: Bearer aimos_<tenant>_<secret>'", "invalid_request_error",
          "invalid_api_key")));
    }));
  }

  private static ObjectNode obj() {
    return JSON.createObjectNode();
  }

  private Route json(StatusCode status, ObjectNode body) {
    return complete(response(status, body));
  }

  private static HttpResponse response(StatusCode status, ObjectNode body) {
    return HttpResponse.create().withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toString()));
  }

  /** OpenAI's error object without a code: {"error": {"message", "type", "param": null, "code": null}}. */
  static HttpResponse error(StatusCode status, String message, String type) {
    return error(status, message, type, null);
  }

  /** OpenAI's error object: {"error": {"message", "type", "param", "code"}}, the code one of OpenAI's strings. */
  static HttpResponse error(StatusCode status, String message, String type, String code) {
    return response(status, errorBody(message, type, code));
  }

  static ObjectNode errorBody(String message, String type, String code) {
    ObjectNode root = obj();
    root.putObject("error").put("message", message).put("type", type).putNull("param").put("code", code);
    return root;
  }

}
