package aimos.node.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferStreamResponse;
import aimos.api.v1.InferenceService;
import aimos.api.v1.InferenceServicePowerApi;
import aimos.api.v1.InferenceServicePowerApiHandlerFactory;
import aimos.api.v1.TextInput;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The strict unary Infer path answers exactly as pekko-grpc's generated handler does (same status, body and trailers)
 * for good requests, undecodable bodies and failing calls, and leaves everything else to that handler.
 */
class UnaryInferTest {
  private static final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "unary-infer",
      com.typesafe.config.ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0")
          .withFallback(com.typesafe.config.ConfigFactory.load()));
  private static final org.apache.pekko.http.javadsl.model.ContentType GRPC = ContentTypes.parse("application/grpc");

  @AfterAll
  static void stop() {
    system.terminate();
  }

  /** Answers with the prompt reversed; a prompt "fail" is refused with INVALID_ARGUMENT. */
  private final List<String> authorizations = new ArrayList<>();
  private final InferenceServicePowerApi service = new InferenceServicePowerApi() {
    @Override
    public CompletionStage<InferResponse> infer(InferRequest in, Metadata metadata) {
      authorizations.add(metadata.getText("authorization").orElse(""));
      if (in.getText().getPrompt().equals("fail")) {
        return CompletableFuture.failedFuture(new GrpcServiceException(
            Status.INVALID_ARGUMENT.withDescription("prompt must not be fail")));
      }
      return CompletableFuture.completedFuture(InferResponse.newBuilder().setRequestId(in.getRequestId())
          .setModel(in.getModel()).build());
    }

    @Override
    public Source<InferStreamResponse, NotUsed> inferStream(InferRequest in, Metadata metadata) {
      return Source.empty();
    }

    @Override
    public CompletionStage<aimos.api.v1.ListModelsResponse> listModels(aimos.api.v1.ListModelsRequest in,
                                                                       Metadata metadata) {
      return CompletableFuture.completedFuture(aimos.api.v1.ListModelsResponse.getDefaultInstance());
    }

    @Override
    public CompletionStage<aimos.api.v1.GetUsageResponse> getUsage(aimos.api.v1.GetUsageRequest in,
                                                                   Metadata metadata) {
      return CompletableFuture.completedFuture(aimos.api.v1.GetUsageResponse.getDefaultInstance());
    }
  };

  private final java.util.function.Function<HttpRequest, CompletionStage<HttpResponse>> generated = request -> {
    try {
      return InferenceServicePowerApiHandlerFactory.partial(service, InferenceService.name, system).apply(request);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  };
  private final AtomicInteger handedOn = new AtomicInteger();
  private final UnaryInfer unary = new UnaryInfer(service, request -> {
    handedOn.incrementAndGet();
    return generated.apply(request);
  }, system);

  private static ByteString frame(byte[] message) {
    return ByteString.fromArray(new byte[] {0}).concat(ByteString.fromArray(java.nio.ByteBuffer.allocate(4)
        .putInt(message.length).array())).concat(ByteString.fromArray(message));
  }

  private static HttpRequest infer(HttpEntity.Strict body) {
    return HttpRequest.create(UnaryInfer.PATH).withMethod(HttpMethods.POST)
        .addHeader(RawHeader.create("authorization", "Bearer aimos_t_s"))
        .withEntity((org.apache.pekko.http.javadsl.model.RequestEntity) body);
  }

  private static InferRequest prompt(String text) {
    return InferRequest.newBuilder().setModel("demo-text").setRequestId("r-1")
        .setText(TextInput.newBuilder().setPrompt(text)).build();
  }

  /** Status, body, and every header and trailer of an answer, whichever form (strict or chunked) it came in. */
  private record Answer(int status, ByteString body, Map<String, String> headers) {}

  private static Answer read(HttpResponse r) {
    Map<String, String> headers = new TreeMap<>();
    r.getHeaders().forEach(h -> headers.put(h.lowercaseName(), h.value()));
    r.getAttribute(AttributeKeys.trailer).ifPresent(t -> scala.jdk.javaapi.CollectionConverters
        .asJava(((org.apache.pekko.http.scaladsl.model.Trailer) t).headers())
        .forEach(h -> headers.put(h._1(), h._2())));
    ByteString body = ByteString.emptyByteString();
    if (r.entity() instanceof HttpEntity.Strict s) {
      body = s.getData();
    } else {
      for (HttpEntity.ChunkStreamPart part : ((HttpEntity.Chunked) r.entity()).getChunks().runWith(Sink.seq(), system)
          .toCompletableFuture().join()) {
        body = body.concat(part.data());
        part.getTrailerHeaders().forEach(h -> headers.put(h.lowercaseName(), h.value()));
      }
    }
    return new Answer(r.status().intValue(), body, headers);
  }

  /** The answer, or the class of what failed it (pekko-http then answers 500 on both paths). */
  private static Object outcome(CompletionStage<HttpResponse> response) {
    try {
      return read(response.toCompletableFuture().join());
    } catch (java.util.concurrent.CompletionException e) {
      Throwable cause = e;
      while (cause.getCause() != null) {
        cause = cause.getCause();
      }
      return cause.getClass().getName();
    }
  }

  private Object both(HttpRequest request) {
    Object fast = outcome(unary.apply(request));
    assertEquals(outcome(generated.apply(request)), fast);
    return fast;
  }

  @Test
  void aWholeBodyIsAnsweredHereAsTheGeneratedHandlerWould() throws Exception {
    HttpEntity.Strict body = HttpEntities.create(GRPC, frame(prompt("hello").toByteArray()).toArray());
    Answer a = (Answer) both(infer(body));
    assertEquals(0, handedOn.get(), "a whole body is not handed on");
    assertEquals("0", a.headers().get("grpc-status"));
    InferResponse out = InferResponse.parseFrom(a.body().drop(5).toArray());
    assertEquals("r-1", out.getRequestId());
    assertEquals(List.of("Bearer aimos_t_s", "Bearer aimos_t_s"), authorizations, "the caller's metadata reaches it");
  }

  @Test
  void failuresAndBodiesThatAreNotOneMessageGetTheSameErrors() {
    Answer refused = (Answer) both(infer(HttpEntities.create(GRPC, frame(prompt("fail").toByteArray()).toArray())));
    assertEquals(String.valueOf(Status.Code.INVALID_ARGUMENT.value()), refused.headers().get("grpc-status"));
    assertEquals("prompt must not be fail", refused.headers().get("grpc-message"));

    // a frame whose message is not a protobuf message: INTERNAL, as pekko-grpc answers it
    Answer garbage = (Answer) both(infer(HttpEntities.create(GRPC, frame(new byte[] {(byte) 0xff, 1, 2}).toArray())));
    assertEquals(String.valueOf(Status.Code.INTERNAL.value()), garbage.headers().get("grpc-status"));
    assertEquals(0, handedOn.get());
    // a frame shorter than its header says, one with more after it, and a compressed flag: pekko-grpc's to answer
    for (byte[] odd : new byte[][] {{0, 0, 0, 0, 9, 1}, frame(new byte[] {10, 0}).concat(ByteString.fromArray(
        new byte[] {0})).toArray(), {1, 0, 0, 0, 1, 0}, {0, 0, 0}}) {
      both(infer(HttpEntities.create(GRPC, odd)));
    }
    assertEquals(4, handedOn.get(), "each odd body went to the generated handler");
  }

  @Test
  void onlyExactlyOneUncompressedFrameIsDecodedHere() {
    assertTrue(UnaryInfer.oneUncompressedFrame(frame(new byte[0])));
    assertTrue(UnaryInfer.oneUncompressedFrame(frame(new byte[300])));
    assertTrue(!UnaryInfer.oneUncompressedFrame(frame(new byte[300]).dropRight(1)));
    assertTrue(!UnaryInfer.oneUncompressedFrame(frame(new byte[3]).concat(frame(new byte[3]))));
    assertTrue(!UnaryInfer.oneUncompressedFrame(ByteString.fromArray(new byte[] {1, 0, 0, 0, 0})));
    assertTrue(!UnaryInfer.oneUncompressedFrame(ByteString.fromArray(new byte[] {0, (byte) 0x80, 0, 0, 0})));
    assertTrue(!UnaryInfer.oneUncompressedFrame(ByteString.emptyByteString()));
  }

  @Test
  void otherMethodsAndBodiesStillArrivingGoToTheGeneratedHandler() {
    byte[] framed = frame(prompt("hello").toByteArray()).toArray();
    unary.apply(HttpRequest.create("/" + InferenceService.name + "/ListModels").withMethod(HttpMethods.POST)
        .withEntity(HttpEntities.create(GRPC, frame(new byte[0]).toArray()))).toCompletableFuture().join();
    assertEquals(1, handedOn.get());
    HttpResponse streamed = unary.apply(HttpRequest.create(UnaryInfer.PATH).withMethod(HttpMethods.POST)
        .withEntity(HttpEntities.create(GRPC, framed.length,
            Source.single(ByteString.fromArray(framed))))).toCompletableFuture().join();
    assertEquals(2, handedOn.get());
    assertEquals("0", read(streamed).headers().get("grpc-status"));
    // not gRPC at all: the generated handler decides what that is
    unary.apply(HttpRequest.create(UnaryInfer.PATH).withMethod(HttpMethods.POST)
        .withEntity(ContentTypes.APPLICATION_JSON, "{}")).toCompletableFuture().join();
    assertEquals(3, handedOn.get());
  }
}
