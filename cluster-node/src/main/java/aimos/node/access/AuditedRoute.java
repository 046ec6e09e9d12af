package aimos.node.access;

import aimos.access.token.Principal;
import aimos.node.BoundedBody;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Complete;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.server.RouteResult;
import org.apache.pekko.http.javadsl.server.RouteResults;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wraps a mutation so that it leaves exactly one audit record before its answer: who, role, action, target, request
 * id ({@code X-Request-Id} if given and well formed, else a new one, echoed in the answer), the request body, the state
 * before and the result. The body is read first (at most {@code maxBodyBytes}; a declared larger one is 413 before it
 * is read); if the record cannot be written after the change was made, the answer says so with 503.
 */
public final class AuditedRoute extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(AuditedRoute.class);
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,100}");

  private final AuditTrail audit;
  private final long maxBodyBytes;
  private final BiFunction<StatusCode, String, HttpResponse> error;

  /** {@code error} renders an error answer in the API's own format. */
  public AuditedRoute(AuditTrail audit, long maxBodyBytes, BiFunction<StatusCode, String, HttpResponse> error) {
    this.audit = audit;
    this.maxBodyBytes = maxBodyBytes;
    this.error = error;
  }

  /** {@code before} gives the state the mutation changes (null if none), for the record. */
  public Route audited(Principal principal, String action, String target,
                       Supplier<CompletionStage<Object>> before, Supplier<Route> inner) {
    return BoundedBody.atMost(maxBodyBytes, () -> error.apply(StatusCodes.PAYLOAD_TOO_LARGE,
            "the body is larger than " + maxBodyBytes + " bytes"),
        () -> optionalHeaderValueByName("X-Request-Id", given -> {
              String requestId = given.filter(id -> REQUEST_ID.matcher(id).matches())
                  .orElseGet(() -> java.util.UUID.randomUUID().toString());
              return extractStrictEntity(Duration.ofSeconds(10), maxBodyBytes, body -> onSuccess(
                  stateBefore(before), state -> respondWithHeader(
                      RawHeader.create("X-Request-Id", requestId), () -> mapRouteResultFuture(result -> result
                          .thenCompose(r -> record(r, principal, action, target, requestId,
                              body.getData().utf8String(), state)), inner))));
            }));
  }

  /** The state before, or null where there is none or it cannot be read (the change itself then decides). */
  private static CompletionStage<Object> stateBefore(Supplier<CompletionStage<Object>> before) {
    try {
      CompletionStage<Object> state = before.get();
      return state == null ? CompletableFuture.completedFuture(null) : state.exceptionally(err -> null);
    } catch (RuntimeException e) {
      // a path the lookup refuses (a malformed id) is the mutation's own error to report
      return CompletableFuture.completedFuture(null);
    }
  }

  private CompletionStage<RouteResult> record(RouteResult r, Principal principal, String action, String target,
                                              String requestId, String body, Object state) {
    if (!(r instanceof Complete c)) {
      return CompletableFuture.completedFuture(r);
    }
    HttpResponse response = c.getResponse();
    String out = response.entity() instanceof HttpEntity.Strict s ? s.getData().utf8String() : "";
    return audit.record(principal, action, target, requestId, body, state, response.status().intValue(), out)
        .handle((rec, err) -> {
          if (err == null) {
            return r;
          }
          log.error("Audit record for {} {} by {} could not be written", action, requestId, principal.name(), err);
          return RouteResults.complete(error.apply(StatusCodes.SERVICE_UNAVAILABLE, "the change was made (status "
              + response.status().intValue() + ") but its audit record could not be written; retry with the same "
              + "X-Request-Id " + requestId));
        });
  }
}
