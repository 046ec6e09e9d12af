package aimos.node.health;

import aimos.grpc.health.v1.Health;
import aimos.grpc.health.v1.HealthCheckRequest;
import aimos.grpc.health.v1.HealthCheckResponse;
import aimos.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The standard gRPC health service ({@code grpc.health.v1.Health}) on the gateway port: {@code SERVING} while the
 * node is ready (its gateway is bound and the store answers, as {@code /ready} on the management port says),
 * {@code NOT_SERVING} otherwise. The empty service name asks about the whole server; each gRPC service the gateway
 * serves has the same status; any other name is {@code NOT_FOUND} ({@code SERVICE_UNKNOWN} on Watch), as the
 * protocol asks.
 */
public final class GrpcHealth implements Health {
  private final BooleanSupplier ready;
  private final Set<String> services;
  private final Duration pollInterval;

  public GrpcHealth(BooleanSupplier ready, Set<String> services, Duration pollInterval) {
    this.ready = ready;
    this.services = new TreeSet<>(services);
    this.pollInterval = pollInterval;
  }

  private boolean known(String service) {
    return service.isEmpty() || services.contains(service);
  }

  private ServingStatus status() {
    return ready.getAsBoolean() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }

  private static HealthCheckResponse response(ServingStatus status) {
    return HealthCheckResponse.newBuilder().setStatus(status).build();
  }

  @Override
  public CompletionStage<HealthCheckResponse> check(HealthCheckRequest in) {
    if (!known(in.getService())) {
      return CompletableFuture.failedFuture(new GrpcServiceException(Status.NOT_FOUND.withDescription(
          "this server does not serve '" + in.getService() + "'; ask about \"\" (the server) or one of "
              + String.join(", ", services))));
    }
    return CompletableFuture.completedFuture(response(status()));
  }

  /** The status now, then each change (checked every poll interval), until the caller cancels. */
  @Override
  public Source<HealthCheckResponse, NotUsed> watch(HealthCheckRequest in) {
    if (!known(in.getService())) {
      return Source.single(response(ServingStatus.SERVICE_UNKNOWN)).concat(Source.<HealthCheckResponse>never());
    }
    return Source.tick(Duration.ZERO, pollInterval, NotUsed.getInstance())
        .map(tick -> status())
        .statefulMapConcat(() -> {
          ServingStatus[] last = {null};
          return s -> {
            if (s == last[0]) {
              return List.of();
            }
            last[0] = s;
            return List.of(response(s));
          };
        })
        .mapMaterializedValue(c -> NotUsed.getInstance());
  }
}
