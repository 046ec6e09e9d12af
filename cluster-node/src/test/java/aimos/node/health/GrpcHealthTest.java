package aimos.node.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import aimos.grpc.health.v1.HealthCheckRequest;
import aimos.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.Status;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class GrpcHealthTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private final AtomicBoolean ready = new AtomicBoolean(false);
  private final GrpcHealth health = new GrpcHealth(ready::get, Set.of("aimos.v1.InferenceService"),
      Duration.ofMillis(20));

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private ServingStatus check(String service) {
    return health.check(HealthCheckRequest.newBuilder().setService(service).build()).toCompletableFuture().join()
        .getStatus();
  }

  @Test
  void followsTheNodesReadiness() {
    assertEquals(ServingStatus.NOT_SERVING, check(""));
    assertEquals(ServingStatus.NOT_SERVING, check("aimos.v1.InferenceService"));
    ready.set(true);
    assertEquals(ServingStatus.SERVING, check(""));
    assertEquals(ServingStatus.SERVING, check("aimos.v1.InferenceService"));
  }

  @Test
  void anUnservedServiceIsNotFound() {
    CompletionException e = assertThrows(CompletionException.class, () -> check("aimos.v1.EchoService"));
    assertEquals(Status.Code.NOT_FOUND, ((GrpcServiceException) e.getCause()).status().getCode());
    var first = health.watch(HealthCheckRequest.newBuilder().setService("nope").build())
        .runWith(Sink.head(), KIT.system()).toCompletableFuture().join();
    assertEquals(ServingStatus.SERVICE_UNKNOWN, first.getStatus());
  }

  @Test
  void watchSendsTheStatusThenEachChangeOnce() throws Exception {
    var queue = health.watch(HealthCheckRequest.getDefaultInstance()).runWith(Sink.queue(), KIT.system());
    try {
      assertEquals(ServingStatus.NOT_SERVING, next(queue));
      ready.set(true);
      assertEquals(ServingStatus.SERVING, next(queue));
      ready.set(false);
      assertEquals(ServingStatus.NOT_SERVING, next(queue));
    } finally {
      queue.cancel();
    }
  }

  private static ServingStatus next(org.apache.pekko.stream.javadsl.SinkQueueWithCancel<
      aimos.grpc.health.v1.HealthCheckResponse> queue) throws Exception {
    return queue.pull().toCompletableFuture().get(10, TimeUnit.SECONDS).orElseThrow().getStatus();
  }
}
