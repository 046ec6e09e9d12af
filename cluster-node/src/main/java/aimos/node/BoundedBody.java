package aimos.node;

import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;

/**
 * A request body of at most a set size, refused with 413 otherwise.
 *
 * <p>A client that sends its whole body before it reads (most do) never sees an answer given while its body is still
 * arriving: once the server stops reading and closes, the kernel answers the client's next bytes with a reset, and
 * the reset discards the 413 waiting in the client's buffer. So a body whose declared length is over the limit is
 * read to its end and thrown away before the 413 is sent, and the connection stays open. That reading is bounded by
 * the server's {@code max-content-length}, which refuses larger declared lengths before any route runs. A body of
 * undeclared length (chunked) is cut off where it passes the limit; its 413 closes the connection.
 */
public final class BoundedBody {
  private BoundedBody() {}

  /** {@code inner} reads a body of at most {@code maxBytes}; anything longer is answered with {@code tooLarge}. */
  public static Route atMost(long maxBytes, Supplier<HttpResponse> tooLarge, Supplier<Route> inner) {
    return Directives.extractRequestEntity(entity -> {
      if (entity.getContentLengthOption().orElse(0L) > maxBytes) {
        return Directives.extractMaterializer(materializer -> Directives.onComplete(
            entity.discardBytes(materializer).completionStage(),
            drained -> drained.isSuccess() ? Directives.complete(tooLarge.get())
                : Directives.complete(closing(tooLarge.get()))));
      }
      Route cutOff = Directives.complete(closing(tooLarge.get()));
      return Directives.handleRejections(RejectionHandler.newBuilder()
              .handle(MalformedRequestContentRejection.class, r -> r.getCause() instanceof EntityStreamSizeException
                  ? cutOff : Directives.reject(r))
              .build(),
          () -> Directives.handleExceptions(ExceptionHandler.newBuilder()
                  .match(EntityStreamSizeException.class, e -> cutOff).build(),
              () -> Directives.withSizeLimit(maxBytes, inner)));
    });
  }

  /** The rest of the body may still be on its way: nothing more can be read on this connection. */
  private static HttpResponse closing(HttpResponse response) {
    return response.addHeader(Connection.create("close"));
  }
}
