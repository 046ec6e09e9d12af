package aimos.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.server.RouteResult;
import org.apache.pekko.http.javadsl.server.RouteResults;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.util.ByteString;

/**
 * A request's body must have arrived within a set time of its headers. pekko-http starts its request-timeout only
 * once the whole body is in, and its idle-timeout only when nothing at all arrives, so a client trickling its body a
 * byte at a time would hold a connection and a handler for as long as it likes. A body that its handler is reading
 * and that is still incomplete at the deadline is cut off, and the request is answered with 408 (over HTTP/1.1 the
 * connection is then closed) or, for gRPC, with DEADLINE_EXCEEDED. (A call that streams its request, which this API
 * has none of, would need to be let through.)
 */
public final class RequestBodyTimeout {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RequestBodyTimeout() {}

  /** The gateway's whole handler (gRPC and REST), bodies read within {@code timeout}. */
  public static org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> handler(
      org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> inner, Duration timeout,
      ActorSystem<?> system) {
    return request -> {
      if (request.entity().isStrict()) {
        return inner.apply(request);
      }
      Guard<HttpResponse> guard = new Guard<>(request, timeout, system, r -> r);
      CompletionStage<HttpResponse> answer;
      try {
        answer = inner.apply(guard.watched);
      } catch (Exception e) {
        answer = CompletableFuture.failedFuture(e);
      }
      return guard.first(answer);
    };
  }

  /** A route (the management server's, which Pekko Management binds itself), bodies read within {@code timeout}. */
  public static Route route(Duration timeout, ActorSystem<?> system, Route inner) {
    return Directives.extractRequest(request -> {
      if (request.entity().isStrict()) {
        return inner;
      }
      Guard<RouteResult> guard = new Guard<>(request, timeout, system, RouteResults::complete);
      return Directives.mapRequest(r -> guard.watched,
          () -> Directives.mapRouteResultFuture(guard::first, () -> inner));
    });
  }

  /** One request's deadline: its body as its handler reads it, and the answer, whichever comes first. */
  private static final class Guard<T> {
    final HttpRequest watched;
    private final CompletableFuture<Void> received = new CompletableFuture<>();
    private final CompletableFuture<T> answer = new CompletableFuture<>();

    Guard(HttpRequest request, Duration timeout, ActorSystem<?> system, Function<HttpResponse, T> result) {
      Flow<ByteString, ByteString, Object> watch = Flow.<ByteString>create()
          .watchTermination((notUsed, done) -> {
            done.whenComplete((d, e) -> received.complete(null));
            return notUsed;
          })
          .viaMat(KillSwitches.single(), Keep.right())
          .mapMaterializedValue(k -> {
            // the time starts when the handler starts reading: a body nobody reads is not the client's delay, and
            // one read after a check (of the key, say) gets its whole time
            Cancellable timer = system.classicSystem().scheduler().scheduleOnce(timeout, () -> {
              // one already in is not late
              if (!received.isDone() && answer.complete(result.apply(timedOut(request, timeout)))) {
                k.abort(new TimeoutException("request body not received within " + timeout.toMillis() + " ms"));
              }
            }, system.executionContext());
            answer.whenComplete((r, e) -> timer.cancel());
            return (Object) k;
          });
      var entity = (org.apache.pekko.http.scaladsl.model.RequestEntity) request.entity();
      // a body of known length keeps it, so that size limits still refuse it before reading
      watched = request.withEntity(entity instanceof org.apache.pekko.http.scaladsl.model.HttpEntity.Default known
          ? (RequestEntity) known.transformDataBytes(known.contentLength(), watch.asScala())
          : entity.transformDataBytes(watch.asScala()));
    }

    CompletionStage<T> first(CompletionStage<T> handled) {
      handled.whenComplete((r, e) -> {
        if (e != null) {
          answer.completeExceptionally(e);
        } else {
          answer.complete(r);
        }
      });
      return answer;
    }
  }

  static HttpResponse timedOut(HttpRequest request, Duration timeout) {
    String message = "the request body did not arrive within " + timeout.toMillis() + " ms";
    String type = request.entity().getContentType().mediaType().toString();
    if (type.startsWith("application/grpc")) {
      // a trailers-only gRPC answer: the status in the headers and no message
      return HttpResponse.create()
          .addHeader(RawHeader.create("grpc-status", "4"))
          .addHeader(RawHeader.create("grpc-message", message))
          .withEntity(HttpEntities.create(request.entity().getContentType(), new byte[0]));
    }
    ObjectNode body = JSON.createObjectNode();
    if (request.getUri().path().startsWith("/v2/")) {
      body.put("error", message);
    } else {
      body.putObject("error").put("message", message).put("type", "invalid_request_error").putNull("param")
          .put("code", StatusCodes.REQUEST_TIMEOUT.intValue());
    }
    HttpResponse response = HttpResponse.create().withStatus(StatusCodes.REQUEST_TIMEOUT)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toString()));
    // the rest of the body may still be on its way: nothing more can be read on this connection
    return request.protocol().value().startsWith("HTTP/1") ? response.addHeader(Connection.create("close"))
        : response;
  }
}
