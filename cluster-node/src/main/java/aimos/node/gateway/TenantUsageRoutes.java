package aimos.node.gateway;

import aimos.node.admin.TenantUsage;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tenant's own usage and ledger, under {@code /v1/usage} on the gateway port. The tenant is the one its API key
 * names (the caller authenticates before these routes run); no parameter can name another. Bad parameters get
 * OpenAI's error object with 400.
 */
public final class TenantUsageRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(TenantUsageRoutes.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final TenantUsage usage;

  public TenantUsageRoutes(TenantUsage usage) {
    this.usage = usage;
  }

  /** The routes under {@code /v1/usage} for the authenticated {@code tenantId}. */
  public Route route(String tenantId) {
    return get(() -> concat(
        pathEnd(() -> parameterOptional("month", month -> json(() -> usage.report(tenantId, month)))),
        path("daily", () -> parameterOptional("month", month -> json(() -> usage.daily(tenantId, month)))),
        path("hourly", () -> parameterOptional("day", day -> json(() -> usage.hourly(tenantId, day)))),
        pathPrefix("ledger", () -> concat(
            pathEnd(() -> parameterOptional("month", month -> parameterOptional("cursor", cursor ->
                parameterOptional("limit", limit -> json(() -> usage.ledgerPage(tenantId, month, cursor, limit)))))),
            path("export", () -> parameterOptional("month", month -> parameterOptional("format", format ->
                export(tenantId, month, format))))))));
  }

  /** Parameters checked before the stream starts; the body is gzipped when the client accepts it. */
  private Route export(String tenantId, java.util.Optional<String> month, java.util.Optional<String> format) {
    return encodeResponse(() -> completeWithFuture(
        answer(() -> CompletableFuture.completedFuture(usage.export(tenantId, month, format)))));
  }

  private Route json(Supplier<CompletionStage<?>> read) {
    return completeWithFuture(answer(() -> read.get().thenApply(TenantUsageRoutes::ok)));
  }

  private static HttpResponse ok(Object value) {
    try {
      return HttpResponse.create().withStatus(StatusCodes.OK)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(value)));
    } catch (Exception e) {
      throw new IllegalStateException("cannot write JSON for " + value.getClass(), e);
    }
  }

  /** The response, or OpenAI's error object: 400 for bad parameters, 503 when the billing store does not answer. */
  private static CompletionStage<HttpResponse> answer(Supplier<CompletionStage<HttpResponse>> action) {
    CompletionStage<HttpResponse> stage;
    try {
      stage = action.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return stage.handle((response, err) -> {
      if (err == null) {
        return response;
      }
      Throwable t = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
      if (t instanceof IllegalArgumentException) {
        return RestRoutes.error(StatusCodes.BAD_REQUEST, t.getMessage(), "invalid_request_error");
      }
      log.warn("Usage read failed: {}", t.toString());
      return RestRoutes.error(StatusCodes.SERVICE_UNAVAILABLE, "usage cannot be read right now; try again",
          "server_error");
    });
  }
}
