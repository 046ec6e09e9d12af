package aimos.node.gateway;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferenceService;
import aimos.api.v1.InferenceServicePowerApi;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.grpc.ProtobufSerializer;
import org.apache.pekko.grpc.javadsl.GrpcExceptionHandler;
import org.apache.pekko.grpc.javadsl.GrpcMarshalling;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * Unary {@code Infer} with a body that arrived whole: its one gRPC frame is decoded as it is. The generated handler
 * runs every body through a stream (frame decoder, cancellation barrier) even when it is already in memory, a stream
 * per call on the hottest path; everything else, and a body that is still arriving, goes to {@code generic}. Answers
 * and errors are made by pekko-grpc's own marshalling, so callers cannot tell the two paths apart.
 */
public final class UnaryInfer implements Function<HttpRequest, CompletionStage<HttpResponse>> {
  static final String PATH = "/" + InferenceService.name + "/Infer";

  private static final ProtobufSerializer<InferRequest> REQUEST = InferenceService.Serializers.InferRequestSerializer;
  private static final ProtobufSerializer<InferResponse> RESPONSE =
      InferenceService.Serializers.InferResponseSerializer;

  private final InferenceServicePowerApi service;
  private final Function<HttpRequest, CompletionStage<HttpResponse>> generic;
  private final ClassicActorSystemProvider system;

  public UnaryInfer(InferenceServicePowerApi service, Function<HttpRequest, CompletionStage<HttpResponse>> generic,
                    ClassicActorSystemProvider system) {
    this.service = service;
    this.generic = generic;
    this.system = system;
  }

  @Override
  public CompletionStage<HttpResponse> apply(HttpRequest request) {
    if (!(request.entity() instanceof HttpEntity.Strict strict) || request.method() != HttpMethods.POST
        || !PATH.equals(request.getUri().path()) || !oneUncompressedFrame(strict.getData())) {
      return generic.apply(request);
    }
    return GrpcMarshalling.negotiated(request, (reader, writer) -> {
      CompletionStage<HttpResponse> response;
      try {
        InferRequest in = REQUEST.deserialize(strict.getData().drop(FRAME_HEADER));
        response = service.infer(in, MetadataBuilder.fromHeaders(request.getHeaders()))
            .thenApply(out -> GrpcMarshalling.marshal(out, RESPONSE, writer, system,
                GrpcExceptionHandler.defaultMapper()));
      } catch (Exception e) { // the protobuf parser's IOException arrives unchecked through Scala
        // as the generated handler's stream would fail: pekko-grpc maps a wrapped failure it does not know to INTERNAL
        response = CompletableFuture.failedFuture(new java.util.concurrent.CompletionException(e));
      }
      return response.exceptionally(e -> GrpcExceptionHandler.standard(e, GrpcExceptionHandler.defaultMapper(),
          writer, system));
    }).orElseGet(() -> generic.apply(request));
  }

  private static final int FRAME_HEADER = 5;

  /**
   * Whether the body is exactly one uncompressed gRPC message (flag 0, then its length, then that many bytes).
   * Anything else (a compressed flag, a short or trailing frame) is left to pekko-grpc, which answers it as it always
   * has; the gateway has already inflated compressed messages.
   */
  static boolean oneUncompressedFrame(org.apache.pekko.util.ByteString data) {
    if (data.length() < FRAME_HEADER || data.apply(0) != 0) {
      return false;
    }
    long length = ((data.apply(1) & 0xffL) << 24) | ((data.apply(2) & 0xff) << 16) | ((data.apply(3) & 0xff) << 8)
        | (data.apply(4) & 0xff);
    return length == data.length() - FRAME_HEADER;
  }
}
