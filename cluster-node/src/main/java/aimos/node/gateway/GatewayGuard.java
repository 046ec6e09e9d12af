package aimos.node.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;

/**
 * Stands in front of everything the gateway port serves and bounds what a request can cost before anyone knows who
 * sent it:
 * <ul>
 *   <li>a body that is not known to be small (no {@code Content-Length}, or one above {@code anonymousBytes}) is read
 *       only once its API key checks out with its tenant;</li>
 *   <li>a gRPC request is read whole up to {@code maxGrpcBytes} on the wire, and each message in it, compressed or
 *       not, may be at most {@code maxGrpcBytes} long: compressed messages are inflated here, never past that bound,
 *       and handed on uncompressed (the gRPC library would inflate them without a bound).</li>
 * </ul>
 */
public final class GatewayGuard {
  /** Bytes of body anyone may send before their key is checked. */
  public static final int ANONYMOUS_BYTES = 64 * 1024;

  private final Function<HttpRequest, CompletionStage<HttpResponse>> inner;
  private final KeyCheck keys;
  private final long maxGrpcBytes;
  private final Duration readTimeout;
  private final Materializer materializer;
  private final aimos.node.metrics.AimosMetrics metrics;

  public GatewayGuard(ActorSystem<?> system, Function<HttpRequest, CompletionStage<HttpResponse>> inner, KeyCheck keys,
                      long maxGrpcBytes, Duration readTimeout, aimos.node.metrics.AimosMetrics metrics) {
    this.inner = inner;
    this.keys = keys;
    this.metrics = metrics;
    this.maxGrpcBytes = maxGrpcBytes;
    this.readTimeout = readTimeout;
    this.materializer = Materializer.matFromSystem(system);
  }

  public CompletionStage<HttpResponse> handle(HttpRequest request) {
    boolean grpc = isGrpc(request);
    if (grpc && !request.getUri().path().startsWith(INFERENCE_PATH)
        && !request.getUri().path().startsWith(BILLING_PATH)) {
      return otherGrpc(request);
    }
    Optional<Long> length = request.entity().getContentLengthOption().isPresent()
        ? Optional.of(request.entity().getContentLengthOption().getAsLong()) : Optional.empty();
    boolean small = length.isPresent() && length.get() <= ANONYMOUS_BYTES;
    if (small) {
      return grpc ? grpc(request) : inner.apply(request);
    }
    Optional<String> authorization = request.getHeader("authorization").map(HttpHeader::value);
    return keys.recentlyValid(authorization).handle((valid, err) -> {
      if (err != null) {
        return discardThen(request, grpc, refuse(request, grpc, 14, StatusCodes.SERVICE_UNAVAILABLE,
            "the tenant service did not answer; try again", "server_error", null));
      }
      if (!valid) {
        metrics.authFailed(authorization.isEmpty());
        return discardThen(request, grpc, refuse(request, grpc, 16, StatusCodes.UNAUTHORIZED,
            "missing, invalid or revoked API key: send 'Authorization: Bearer aimos_<tenant>_<secret>' (a body "
                + "over " + ANONYMOUS_BYTES + " bytes is read only once its key is checked)", "invalid_request_error",
            "invalid_api_key"));
      }
      return grpc ? grpc(request) : inner.apply(request);
    }).thenCompose(Function.identity());
  }

  /** Bytes of an HTTP/1 body refused before its key checked out that are discarded so that the refusal arrives. */
  public static final int DISCARDED_BYTES = 1024 * 1024;

  /**
   * Answers a refused HTTP/1 request once its body, up to {@link #DISCARDED_BYTES}, has been read and thrown away
   * (RFC 9112 section 9.6). A server that answers and closes while the client is still sending makes the client's
   * TCP stack receive a reset, which may discard the answer before the client reads it: the caller would see a
   * dropped connection instead of its 401. Nothing is kept or parsed, and the read ends at the body timeout; a body
   * declared larger than the bound, or one whose client waits for {@code 100 Continue}, is not read at all (the
   * connection closes after the answer). HTTP/2 refuses one stream and keeps the connection, so it discards nothing.
   */
  private CompletionStage<HttpResponse> discardThen(HttpRequest request, boolean grpc, HttpResponse answer) {
    boolean http1 = !request.protocol().value().startsWith("HTTP/2");
    boolean waitsForContinue = request.getHeader("expect").map(h -> h.value().equalsIgnoreCase("100-continue"))
        .orElse(false);
    boolean declaredTooLarge = request.entity().getContentLengthOption().isPresent()
        && request.entity().getContentLengthOption().getAsLong() > DISCARDED_BYTES;
    if (grpc || !http1 || waitsForContinue || declaredTooLarge) {
      return CompletableFuture.completedFuture(answer);
    }
    return request.entity().withSizeLimit(DISCARDED_BYTES).getDataBytes()
        .completionTimeout(readTimeout)
        .runWith(org.apache.pekko.stream.javadsl.Sink.ignore(), materializer)
        .handle((done, err) -> answer);
  }

  private static final String INFERENCE_PATH = "/aimos.v1.InferenceService/";
  private static final String BILLING_PATH = "/aimos.v1.BillingService/";

  /**
   * gRPC services that anyone may call (server reflection) stream their requests, so they are not read whole: their
   * messages must come uncompressed and all of them together within the anonymous allowance.
   */
  private CompletionStage<HttpResponse> otherGrpc(HttpRequest request) {
    String encoding = request.getHeader("grpc-encoding").map(HttpHeader::value).orElse("identity");
    if (!encoding.equals("identity")) {
      return CompletableFuture.completedFuture(grpcStatus(12, "grpc-encoding " + encoding + " is not accepted by "
          + request.getUri().path() + ": send its messages uncompressed"));
    }
    return inner.apply(request.withEntity((org.apache.pekko.http.javadsl.model.RequestEntity) request.entity()
        .withSizeLimit(ANONYMOUS_BYTES)));
  }

  private static boolean isGrpc(HttpRequest request) {
    return request.entity().getContentType().mediaType().toString().startsWith("application/grpc");
  }

  /** Reads the gRPC request whole and bounded, inflates its messages bounded, and hands it on uncompressed. */
  private CompletionStage<HttpResponse> grpc(HttpRequest request) {
    String encoding = request.getHeader("grpc-encoding").map(HttpHeader::value).orElse("identity");
    if (request.entity() instanceof HttpEntity.Strict strict) {
      // a body that came in one DATA frame (most): no stream to read, so none is built (Strict's toStrict with a
      // byte bound materializes one)
      return strict.getData().size() > maxGrpcBytes ? CompletableFuture.completedFuture(tooLarge())
          : inflatedAndHandedOn(request, strict, encoding);
    }
    // the body timeout in front of this answers a stalled body first; this bound only keeps a read from hanging
    return request.entity().withSizeLimit(maxGrpcBytes)
        .toStrict(readTimeout.plusSeconds(5).toMillis(), maxGrpcBytes, materializer)
        .handle((strict, err) -> {
          if (err != null) {
            Throwable t = err;
            while (t.getCause() != null && !(t instanceof EntityStreamSizeException)) {
              t = t.getCause();
            }
            return CompletableFuture.completedFuture(t instanceof EntityStreamSizeException ? tooLarge()
                : grpcStatus(3, "the request body could not be read: " + t.getMessage()));
          }
          return inflatedAndHandedOn(request, strict, encoding);
        }).thenCompose(Function.identity());
  }

  private HttpResponse tooLarge() {
    return grpcStatus(8, "the request is larger than " + maxGrpcBytes + " bytes");
  }

  private CompletionStage<HttpResponse> inflatedAndHandedOn(HttpRequest request, HttpEntity.Strict strict,
                                                            String encoding) {
    ByteString plain;
    try {
      plain = uncompressed(strict.getData(), encoding, maxGrpcBytes);
    } catch (Refused r) {
      return CompletableFuture.completedFuture(grpcStatus(r.code, r.getMessage()));
    }
    HttpRequest out = request.removeHeader("grpc-encoding")
        .withEntity((HttpEntity.Strict) HttpEntities.create(strict.getContentType(), plain));
    return inner.apply(out);
  }

  /** A gRPC call refused before it reached the service, with its gRPC status code. */
  static final class Refused extends Exception {
    final int code;

    Refused(int code, String message) {
      super(message);
      this.code = code;
    }
  }

  /**
   * The request's gRPC messages with every compressed one inflated; each message, before or after inflation, at most
   * {@code maxMessage} bytes (checked before anything is allocated for it).
   */
  static ByteString uncompressed(ByteString body, String encoding, long maxMessage) throws Refused {
    boolean anyCompressed = false;
    for (int at = 0; at < body.size(); ) {
      if (body.size() - at < 5) {
        throw new Refused(13, "a gRPC message frame is cut short");
      }
      long length = lengthAt(body, at);
      if (length > maxMessage) {
        throw new Refused(8, "a message of " + length + " bytes is larger than the limit of " + maxMessage);
      }
      if (body.size() - at - 5 < length) {
        throw new Refused(13, "a gRPC message frame is cut short");
      }
      anyCompressed |= body.apply(at) == 1;
      at += 5 + (int) length;
    }
    if (!anyCompressed) {
      return body;
    }
    if (!encoding.equals("gzip")) {
      throw new Refused(12, "grpc-encoding " + encoding + " is not supported: send gzip or identity");
    }
    ByteString out = ByteString.emptyByteString();
    for (int at = 0; at < body.size(); ) {
      int length = (int) lengthAt(body, at);
      ByteString payload = body.slice(at + 5, at + 5 + length);
      if (body.apply(at) == 1) {
        payload = gunzip(payload, maxMessage);
      }
      java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(5);
      header.put((byte) 0).putInt(payload.size()).flip();
      out = out.concat(ByteString.fromByteBuffer(header)).concat(payload);
      at += 5 + length;
    }
    return out;
  }

  /** The big-endian length of the frame at {@code at}, after its compressed flag. */
  private static long lengthAt(ByteString body, int at) {
    long n = 0;
    for (int i = 1; i <= 4; i++) {
      n = (n << 8) | (body.apply(at + i) & 0xff);
    }
    return n;
  }

  private static ByteString gunzip(ByteString compressed, long max) throws Refused {
    try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(compressed.toArray()))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buffer = new byte[16 * 1024];
      for (int n; (n = in.read(buffer)) > 0; ) {
        if (out.size() + (long) n > max) {
          throw new Refused(8, "a compressed message inflates to more than the limit of " + max + " bytes");
        }
        out.write(buffer, 0, n);
      }
      return ByteString.fromArray(out.toByteArray());
    } catch (IOException e) {
      throw new Refused(13, "a compressed message is not valid gzip");
    }
  }

  /** A trailers-only gRPC answer. */
  static HttpResponse grpcStatus(int code, String message) {
    return HttpResponse.create().withStatus(StatusCodes.OK)
        .addHeader(RawHeader.create("grpc-status", Integer.toString(code)))
        .addHeader(RawHeader.create("grpc-message", URLEncoder.encode(message, StandardCharsets.UTF_8)
            .replace("+", "%20")))
        .withEntity(HttpEntities.create(GRPC, new byte[0]));
  }

  private static final ContentType GRPC = ContentTypes.parse("application/grpc+proto");

  private static HttpResponse refuse(HttpRequest request, boolean grpc, int grpcCode, org.apache.pekko.http.javadsl.model.StatusCode http,
                                     String message, String type, String code) {
    if (grpc) {
      return grpcStatus(grpcCode, message);
    }
    if (request.getUri().path().startsWith("/v2/")) {
      return OipRoutes.error(http, message);
    }
    return RestRoutes.error(http, message, type, code);
  }
}
