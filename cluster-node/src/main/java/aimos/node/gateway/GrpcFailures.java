package aimos.node.gateway;

import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** How the inference API fails: every failure a gRPC status with a message that says what to do. */
final class GrpcFailures {
  private static final Logger log = LoggerFactory.getLogger(InferenceGateway.class);

  private GrpcFailures() {}

  /** Fails with the GrpcServiceException itself (not wrapped); anything unexpected is logged and INTERNAL. */
  static <T> CompletionStage<T> grpcErrors(CompletionStage<T> stage) {
    return stage.exceptionallyCompose(err -> {
      Throwable t = unwrap(err);
      if (!(t instanceof GrpcServiceException)) {
        log.error("Unexpected failure serving a request", t);
        t = new GrpcServiceException(Status.INTERNAL.withDescription("internal error; see the node's log"));
      }
      return CompletableFuture.failedFuture(t);
    });
  }

  static GrpcServiceException invalid(String message) {
    return new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription(message));
  }

  static GrpcServiceException unavailable(String message, Throwable cause) {
    Throwable c = unwrap(cause);
    if (c instanceof GrpcServiceException g) {
      return g;
    }
    log.warn("{}: {}", message, String.valueOf(c));
    return new GrpcServiceException(Status.UNAVAILABLE.withDescription(message));
  }

  static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  static Status statusOf(Throwable err) {
    Throwable t = unwrap(err);
    if (t instanceof GrpcServiceException g) {
      return g.getStatus();
    }
    return Status.INTERNAL;
  }

  static Metadata retryAfter(long millis) {
    return new org.apache.pekko.grpc.javadsl.MetadataBuilder()
        .addText("retry-after-ms", Long.toString(Math.max(0, millis))).build();
  }
}
