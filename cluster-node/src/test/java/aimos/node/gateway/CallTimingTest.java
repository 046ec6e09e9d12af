package aimos.node.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.Trailer;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The overhead each answer carries: total less the model's run, where gRPC and HTTP callers read it. */
class CallTimingTest {
  private static final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "call-timing");
  private static final org.apache.pekko.http.javadsl.model.ContentType GRPC =
      org.apache.pekko.http.javadsl.model.ContentTypes.parse("application/grpc");

  @AfterAll
  static void stop() {
    system.terminate();
  }

  private final List<Double> observed = new ArrayList<>();
  private final CallTiming timings = new CallTiming(observed::add);

  /** A handler that plays the flow: finds its slot, says the model ran for {@code modelNanos}, answers. */
  private java.util.function.Function<HttpRequest, java.util.concurrent.CompletionStage<HttpResponse>> flow(
      long modelNanos, HttpResponse answer, List<String> slotsSeen) {
    return request -> {
      String slot = request.getHeader(CallTiming.SLOT_HEADER).map(HttpHeader::value).orElse("");
      slotsSeen.add(slot);
      timings.of(new MetadataBuilder().addText(CallTiming.SLOT_HEADER, slot).build()).modelRan(modelNanos);
      return CompletableFuture.completedFuture(answer);
    };
  }

  @Test
  void aUnaryGrpcAnswerGetsItInItsTrailerAndTheModelsRunIsNotCounted() {
    HttpResponse answer = HttpResponse.create().withEntity(HttpEntities.create(GRPC, new byte[] {0, 0, 0, 0, 0}))
        .addAttribute(AttributeKeys.trailer, Trailer.create().addHeader(RawHeader.create("grpc-status", "0")));
    List<String> slots = new ArrayList<>();
    long t0 = System.nanoTime();
    HttpResponse r = timings.around(flow(60_000_000_000L, answer, slots))
        .apply(HttpRequest.create("/aimos.v1.InferenceService/Infer")
            .addHeader(RawHeader.create(CallTiming.SLOT_HEADER, "42")))
        .toCompletableFuture().join();
    long took = System.nanoTime() - t0;
    assertFalse(slots.get(0).equals("42"), "the caller's own slot header is dropped");
    var trailer = (org.apache.pekko.http.scaladsl.model.Trailer) r.getAttribute(AttributeKeys.trailer).orElseThrow();
    List<String> names = new ArrayList<>();
    scala.jdk.javaapi.CollectionConverters.asJava(trailer.headers()).forEach(h -> names.add(h._1() + "=" + h._2()));
    assertTrue(names.contains("grpc-status=0"), names.toString());
    // a model that "ran" 60 s leaves an overhead of 0, never a negative one
    assertTrue(names.contains("aimos-overhead-ms=0.000"), names.toString());
    assertEquals(List.of(0.0), observed);
    assertTrue(took < 60_000_000_000L);
    assertEquals(0, timings.open());
  }

  @Test
  void aRestAnswerGetsAHeaderAndAStreamItsLastChunksTrailer() {
    List<String> slots = new ArrayList<>();
    HttpResponse rest = timings.around(flow(0, HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, "{}"),
        slots)).apply(HttpRequest.create("/v1/completions")).toCompletableFuture().join();
    double ms = Double.parseDouble(rest.getHeader(CallTiming.OVERHEAD_HEADER).orElseThrow().value());
    assertTrue(ms >= 0);

    HttpEntity.Chunked chunked = HttpEntities.createChunked(GRPC, Source.single(ByteString.fromString("x")));
    HttpResponse streamed = timings.around(flow(0, HttpResponse.create().withEntity(
            (org.apache.pekko.http.javadsl.model.ResponseEntity) withLastChunk(chunked)), slots))
        .apply(HttpRequest.create("/aimos.v1.InferenceService/InferStream")).toCompletableFuture().join();
    assertEquals(1, timings.open(), "open until its stream ends");
    var parts = ((HttpEntity.Chunked) streamed.entity()).getChunks().runWith(Sink.seq(), system)
        .toCompletableFuture().join();
    HttpEntity.ChunkStreamPart last = parts.get(parts.size() - 1);
    assertTrue(last.isLastChunk());
    List<String> trailer = new ArrayList<>();
    last.getTrailerHeaders().forEach(h -> trailer.add(h.name()));
    assertEquals(List.of("grpc-status", CallTiming.OVERHEAD_HEADER), trailer);
    assertEquals(0, timings.open());
    assertEquals(2, observed.size());
  }

  @Test
  void requestsThatNeverReachTheFlowGetNothing() {
    HttpResponse r = timings.around(request -> CompletableFuture.completedFuture(HttpResponse.create()))
        .apply(HttpRequest.create("/v1/models")).toCompletableFuture().join();
    assertTrue(r.getHeader(CallTiming.OVERHEAD_HEADER).isEmpty());
    assertEquals(List.of(), observed);
    assertEquals(0, timings.open());
    // a failed handler frees its slot too
    var failed = timings.around(request -> CompletableFuture.failedFuture(new IllegalStateException("boom")))
        .apply(HttpRequest.create("/v1/models")).toCompletableFuture();
    assertTrue(failed.isCompletedExceptionally());
    assertEquals(0, timings.open());
  }

  @Test
  void theOverheadIsWrittenInMillisecondsWithThreeDecimals() {
    assertEquals("0.000", CallTiming.millis(0));
    assertEquals("0.000", CallTiming.millis(499));
    assertEquals("0.001", CallTiming.millis(500));
    assertEquals("0.012", CallTiming.millis(12_345));
    assertEquals("1.234", CallTiming.millis(1_234_499));
    assertEquals("1.235", CallTiming.millis(1_234_500));
    assertEquals("2.000", CallTiming.millis(1_999_600));
    assertEquals("60000.000", CallTiming.millis(60_000_000_000L));
    for (long nanos : new long[] {7, 999_999, 3_141_592, 987_654_321}) {
      assertEquals(String.format(java.util.Locale.ROOT, "%.3f", nanos / 1e6), CallTiming.millis(nanos));
    }
  }

  private static HttpEntity withLastChunk(HttpEntity.Chunked chunked) {
    var parts = chunked.getChunks().concat(Source.single(HttpEntity.ChunkStreamPart.createLast("",
        List.of(RawHeader.create("grpc-status", "0")))))
        .map(p -> (org.apache.pekko.http.scaladsl.model.HttpEntity.ChunkStreamPart) p);
    return org.apache.pekko.http.scaladsl.model.HttpEntity.Chunked$.MODULE$.apply(
        (org.apache.pekko.http.scaladsl.model.ContentType) GRPC, parts.asScala());
  }
}
