package aimos.node.gateway;

import aimos.access.token.Principal;
import aimos.billing.webhook.WebhookEndpoints;
import aimos.node.access.AuditTrail;
import aimos.node.access.AuditedRoute;
import aimos.node.admin.AdminRoutes;
import aimos.node.admin.TenantAdmin;
import aimos.node.admin.WebhookRoutes;
import aimos.tenant.KeyScope;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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

/**
 * What a tenant's administrator manages on the gateway port with a tenant-admin key: the tenant's own API keys under
 * {@code /v1/keys} and its webhook endpoints under {@code /v1/webhooks}. The tenant is the one the key names, so no
 * request can reach another tenant (its keys and endpoints are simply not found). An inference key is refused with
 * 403: a key that leaks from an application cannot mint keys or add endpoints. Every change leaves one audit record
 * (actor {@code tenant:<id>/<key id>}, role {@code tenant-admin}). Errors are OpenAI's error object.
 * <pre>
 *   GET    /v1/keys           the tenant's keys (ids, scopes, issue times, revoked), never a secret
 *   POST   /v1/keys           a new inference key, shown once
 *   DELETE /v1/keys/{keyId}   revoke a key (the caller's own included)
 *   ...    /v1/webhooks[/...] as {@link WebhookRoutes}
 * </pre>
 */
public final class TenantAdminRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long MAX_BODY_BYTES = 16 * 1024;

  private final WebhookRoutes webhooks;
  private final TenantAdmin tenants;
  private final KeyCheck keys;
  private final AuditedRoute audited;

  public TenantAdminRoutes(WebhookEndpoints endpoints, TenantAdmin tenants, KeyCheck keys, AuditTrail audit) {
    this.webhooks = new WebhookRoutes(endpoints, TenantAdminRoutes::error);
    this.tenants = tenants;
    this.keys = keys;
    this.audited = new AuditedRoute(audit, MAX_BODY_BYTES, TenantAdminRoutes::error);
  }

  private static HttpResponse error(StatusCode status, String message) {
    return RestRoutes.error(status, message, status.intValue() >= 500 ? "server_error" : "invalid_request_error");
  }

  public Route route() {
    return concat(
        pathPrefix(PathMatchers.segment("v1").slash("keys"), () -> tenantAdmin(this::keyRoutes)),
        pathPrefix(PathMatchers.segment("v1").slash("webhooks"), () -> tenantAdmin(key ->
            webhooks.route(key.tenantId(), () -> CompletableFuture.completedFuture(key.tenantId())))));
  }

  /** Authenticates a tenant-admin key, then audits every method but GET. */
  private Route tenantAdmin(java.util.function.Function<KeyCheck.TenantKey, Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> onComplete(keys.tenantAdminOf(header), admin -> {
      if (admin.isFailure()) {
        return complete(error(StatusCodes.SERVICE_UNAVAILABLE, "the tenant service did not answer; try again"));
      }
      if (admin.get().isPresent()) {
        KeyCheck.TenantKey key = admin.get().get();
        return extractMethod(method -> extractUri(uri -> method.name().equals("GET") || method.name().equals("HEAD")
            ? inner.apply(key)
            : audited.audited(Principal.tenantAdmin(key.tenantId(), key.keyId()),
                method.name() + " " + template(uri.path()), uri.path(),
                () -> before(key.tenantId(), uri.path()), () -> inner.apply(key))));
      }
      // tell an inference key apart from no key at all, so its holder knows what to ask for
      return onComplete(keys.tenantOf(header), inference -> inference.isSuccess() && inference.get().isPresent()
          ? complete(RestRoutes.error(StatusCodes.FORBIDDEN, "this route needs a tenant-admin key; an inference key "
              + "cannot manage keys or webhooks (the platform's admin issues one with POST "
              + "/admin/tenants/{id}/keys {\"scope\": \"tenant-admin\"})", "invalid_request_error", "insufficient_permissions"))
          : complete(RestRoutes.error(StatusCodes.UNAUTHORIZED, "missing, invalid or revoked API key: send "
              + "'Authorization: Bearer aimos_<tenant>_<secret>' with a tenant-admin key", "invalid_request_error",
              "invalid_api_key")));
    }));
  }

  /**
   * For the audit record: the webhook endpoint a change names, the tenant's endpoints before a new one, or its keys.
   */
  private CompletionStage<Object> before(String tenantId, String path) {
    if (path.equals("/v1/webhooks") || path.startsWith("/v1/webhooks/")) {
      return webhooks.before(tenantId, path.substring("/v1/webhooks".length()));
    }
    return tenants.get(tenantId).thenApply(s -> (Object) keyList(s));
  }

  private static String template(String path) {
    return path.replaceAll("^/v1/keys/[^/]+$", "/v1/keys/{keyId}")
        .replaceAll("^/v1/webhooks/[^/]+", "/v1/webhooks/{endpoint}");
  }

  private Route keyRoutes(KeyCheck.TenantKey key) {
    return concat(
        pathEnd(() -> concat(
            get(() -> reply(StatusCodes.OK, tenants.get(key.tenantId()).thenApply(TenantAdminRoutes::keyList))),
            post(() -> entity(Unmarshaller.entityToString(), body -> {
              KeyScope scope;
              try {
                scope = requestedScope(body);
              } catch (IllegalArgumentException e) {
                return complete(error(StatusCodes.BAD_REQUEST, e.getMessage()));
              }
              if (scope != KeyScope.INFERENCE) {
                return complete(error(StatusCodes.FORBIDDEN, "a tenant-admin key issues inference keys only; "
                    + "tenant-admin keys come from the platform's admin API"));
              }
              return reply(StatusCodes.CREATED, tenants.issueKey(key.tenantId(), scope)
                  .thenApply(k -> AdminRoutes.issuedKeyJson(key.tenantId(), k, scope)));
            })))),
        path(PathMatchers.segment(), keyId -> delete(() -> reply(StatusCodes.OK,
            tenants.revokeKey(key.tenantId(), keyId).thenApply(TenantAdminRoutes::keyList)))));
  }

  /** The scope a POST asks for: {@code {"scope"}} or no body at all (an inference key). */
  private static KeyScope requestedScope(String body) {
    if (body.isBlank()) {
      return KeyScope.INFERENCE;
    }
    JsonNode node;
    try {
      node = JSON.readTree(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("the body is not valid JSON: " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("the body must be a JSON object, for example {\"scope\": \"inference\"}");
    }
    JsonNode scope = node.get("scope");
    if (scope == null || scope.isNull()) {
      return KeyScope.INFERENCE;
    }
    if (!scope.isTextual()) {
      throw new IllegalArgumentException("field 'scope' must be a string");
    }
    return KeyScope.ofLabel(scope.asText());
  }

  private static Map<String, Object> keyList(aimos.tenant.TenantEntity.Summary s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("object", "list");
    List<Map<String, Object>> data = s.keys().stream().map(AdminRoutes::keyJson).toList();
    m.put("data", data);
    return m;
  }

  private Route reply(StatusCode ok, CompletionStage<?> result) {
    return onComplete(result, r -> {
      if (r.isSuccess()) {
        try {
          return complete(HttpResponse.create().withStatus(ok).withEntity(HttpEntities.create(
              ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(r.get()))));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
          return complete(error(StatusCodes.INTERNAL_SERVER_ERROR, "the answer could not be written"));
        }
      }
      Throwable cause = r.failed().get();
      while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
        cause = cause.getCause();
      }
      if (cause instanceof StatusReply.ErrorMessage e) {
        String msg = e.getMessage();
        return complete(error(msg.contains("has no key") ? StatusCodes.NOT_FOUND : StatusCodes.CONFLICT, msg));
      }
      if (cause instanceof java.util.concurrent.TimeoutException) {
        return complete(error(StatusCodes.SERVICE_UNAVAILABLE, "the tenant service did not answer; try again"));
      }
      return complete(error(StatusCodes.INTERNAL_SERVER_ERROR, "the request failed: " + cause.getMessage()));
    });
  }
}
