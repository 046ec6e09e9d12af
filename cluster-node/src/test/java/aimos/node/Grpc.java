package aimos.node;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/** Raw gRPC calls over HTTP/2, for what a gRPC library would not send (hand-made frames, odd encodings). */
final class Grpc {
  record Reply(int httpStatus, String grpcStatus, String grpcMessage) {}

  private Grpc() {}

  /** Sends one request body (gRPC frames as given) and reads the status of a trailers-only answer. */
  static Reply call(ActorSystem<?> system, int port, String path, byte[] body, List<String[]> headers)
      throws Exception {
    HttpRequest request = HttpRequest.create(path).withMethod(HttpMethods.POST)
        .withEntity(HttpEntities.create(ContentTypes.parse("application/grpc+proto"), body))
        .addHeader(RawHeader.create("te", "trailers"));
    for (String[] h : headers) {
      request = request.addHeader(RawHeader.create(h[0], h[1]));
    }
    HttpResponse response = Source.single(request)
        .via(org.apache.pekko.http.javadsl.Http.get(system).connectionTo("127.0.0.1").toPort(port)
            .http2WithPriorKnowledge())
        .runWith(Sink.head(), system).toCompletableFuture().get(30, TimeUnit.SECONDS);
    response.discardEntityBytes(system);
    return new Reply(response.status().intValue(),
        response.getHeader("grpc-status").map(HttpHeader::value).orElse(""),
        java.net.URLDecoder.decode(response.getHeader("grpc-message").map(HttpHeader::value).orElse(""),
            java.nio.charset.StandardCharsets.UTF_8));
  }
}
