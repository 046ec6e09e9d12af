package aimos.node.gateway;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * A failed inference as the REST APIs report it: the gateway's gRPC status mapped to the HTTP status that HTTP
 * clients act on (retry 429 and 503 after {@code Retry-After}, fix a 400), its message, and OpenAI's error type and
 * string code (client libraries dispatch on the code: {@code insufficient_quota} is not a passing rate limit).
 */
record HttpFailure(StatusCode status, String message, String openAiType, String code, List<HttpHeader> retryHeaders) {

  static HttpFailure of(Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (!(t instanceof GrpcServiceException g)) {
      return new HttpFailure(StatusCodes.INTERNAL_SERVER_ERROR, "internal error; see the node's log", "server_error",
          null, List.of());
    }
    Status status = g.getStatus();
    String message = Optional.ofNullable(status.getDescription()).orElse(status.getCode().name());
    StatusCode http = switch (status.getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> StatusCodes.BAD_REQUEST;
      case UNAUTHENTICATED -> StatusCodes.UNAUTHORIZED;
      case PERMISSION_DENIED -> StatusCodes.FORBIDDEN;
      case NOT_FOUND -> StatusCodes.NOT_FOUND;
      case ALREADY_EXISTS, ABORTED -> StatusCodes.CONFLICT;
      case RESOURCE_EXHAUSTED -> StatusCodes.TOO_MANY_REQUESTS;
      case UNAVAILABLE -> StatusCodes.SERVICE_UNAVAILABLE;
      case DEADLINE_EXCEEDED -> StatusCodes.GATEWAY_TIMEOUT;
      default -> StatusCodes.INTERNAL_SERVER_ERROR;
    };
    boolean budget = message.startsWith("monthly_budget");
    String type = switch (status.getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED,
           ALREADY_EXISTS, ABORTED -> "invalid_request_error";
      case RESOURCE_EXHAUSTED -> budget ? "insufficient_quota" : "rate_limit_exceeded";
      default -> "server_error";
    };
    String code = switch (status.getCode()) {
      case UNAUTHENTICATED -> "invalid_api_key";
      // the gateway's only NOT_FOUND is a model or version that does not exist
      case NOT_FOUND -> "model_not_found";
      case RESOURCE_EXHAUSTED -> budget ? "insufficient_quota" : "rate_limit_exceeded";
      case ALREADY_EXISTS -> "idempotency_key_reused";
      case ABORTED -> "idempotency_key_in_use";
      case PERMISSION_DENIED -> message.startsWith("tenant_suspended") ? "tenant_suspended" : null;
      case DEADLINE_EXCEEDED -> "timeout";
      default -> null;
    };
    List<HttpHeader> headers = new ArrayList<>();
    g.getMetadata().getText("retry-after-ms").ifPresent(ms -> {
      headers.add(RawHeader.create("Retry-After", Long.toString(Math.max(1, (Long.parseLong(ms) + 999) / 1000))));
      headers.add(RawHeader.create("retry-after-ms", ms));
    });
    return new HttpFailure(http, message, type, code, headers);
  }
}
