package aimos.node.gateway;

import aimos.billing.webhook.WebhookEndpoints;
import aimos.node.admin.WebhookRoutes;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * A tenant's own webhook endpoints under {@code /v1/webhooks} on the gateway port, with its API key: the tenant is
 * the one the key names, so no request can reach another tenant's endpoints (they are simply not found). The key is
 * checked before the body is read. Errors are OpenAI's error object.
 */
public final class TenantWebhookRoutes extends AllDirectives {
  private final WebhookRoutes webhooks;
  private final KeyCheck keys;

  public TenantWebhookRoutes(WebhookEndpoints endpoints, KeyCheck keys) {
    this.webhooks = new WebhookRoutes(endpoints, (status, message) -> RestRoutes.error(status, message,
        status.intValue() >= 500 ? "server_error" : "invalid_request_error"));
    this.keys = keys;
  }

  public Route route() {
    return pathPrefix(PathMatchers.segment("v1").slash("webhooks"), () ->
        optionalHeaderValueByName("Authorization", header -> onComplete(keys.tenantOf(header), result -> {
          if (result.isFailure()) {
            return complete(RestRoutes.error(StatusCodes.SERVICE_UNAVAILABLE,
                "the tenant service did not answer; try again", "server_error"));
          }
          return result.get().map(tenant -> webhooks.route(tenant,
                  () -> CompletableFuture.completedFuture(tenant)))
              .orElseGet(() -> complete(RestRoutes.error(StatusCodes.UNAUTHORIZED, "missing, invalid or revoked "
                  + "API key: send 'Authorization: Bearer aimos_<tenant>_<secret>'", "invalid_request_error",
                  "invalid_api_key")));
        })));
  }
}
