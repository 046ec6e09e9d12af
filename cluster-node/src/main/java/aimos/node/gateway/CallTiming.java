package aimos.node.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleConsumer;
import java.util.function.Function;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The platform's own time in each inference request: from the gateway's first sight of the request to its answer,
 * less the time its model ran. Callers get it as {@value #OVERHEAD_HEADER}: a gRPC trailer (for a stream, in the
 * trailer after its last message) or an HTTP response header; operators as a histogram.
 *
 * <p>Every request on the gateway port gets a timing slot; the inference flow finds it through an internal header
 * that this class sets (a caller's own header of that name is dropped) and adds the model's run time to it. Only a
 * request that reached the flow is answered with its overhead.
 */
public final class CallTiming {
  public static final String OVERHEAD_HEADER = "aimos-overhead-ms";
  static final String SLOT_HEADER = "aimos-internal-timing-slot";

  private final ConcurrentHashMap<String, Timing> open = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final DoubleConsumer overheadSeconds;

  /** @param overheadSeconds where each answered inference's overhead goes (the metrics) */
  public CallTiming(DoubleConsumer overheadSeconds) {
    this.overheadSeconds = overheadSeconds;
  }

  /** One request's timing. */
  static final class Timing {
    private final long startNanos;
    private final AtomicLong modelNanos = new AtomicLong();
    private volatile boolean inference;

    Timing(long startNanos) {
      this.startNanos = startNanos;
    }

    /** A model ran on this request for {@code nanos} (a fallback adds its own run). */
    void modelRan(long nanos) {
      modelNanos.addAndGet(nanos);
    }

    long overheadNanos(long now) {
      return Math.max(0, now - startNanos - modelNanos.get());
    }
  }

  /** The timing of the request with this metadata; a detached one when the request came another way. */
  Timing of(Metadata metadata) {
    Timing t = metadata.getText(SLOT_HEADER).map(open::get).orElse(null);
    if (t == null) {
      return new Timing(System.nanoTime());
    }
    t.inference = true;
    return t;
  }

  /** The metadata the REST routes hand to the flow: the caller's {@code Authorization} and the request's slot. */
  static Metadata restMetadata(java.util.Optional<String> authorization, java.util.Optional<String> slot) {
    var b = new org.apache.pekko.grpc.javadsl.MetadataBuilder().addText("authorization", authorization.orElse(""));
    slot.ifPresent(s -> b.addText(SLOT_HEADER, s));
    return b.build();
  }

  /** {@code inner} with a timing slot per request, and the overhead on the answers of those that reached the flow. */
  public Function<HttpRequest, CompletionStage<HttpResponse>> around(
      Function<HttpRequest, CompletionStage<HttpResponse>> inner) {
    return request -> {
      String slot = Long.toString(ids.incrementAndGet());
      Timing timing = new Timing(System.nanoTime());
      open.put(slot, timing);
      HttpRequest tagged = request.removeHeader(SLOT_HEADER).addHeader(RawHeader.create(SLOT_HEADER, slot));
      CompletionStage<HttpResponse> response;
      try {
        response = inner.apply(tagged);
      } catch (RuntimeException e) {
        response = CompletableFuture.failedFuture(e);
      }
      return response.handle((r, err) -> {
        if (err != null || !timing.inference) {
          open.remove(slot);
          if (err != null) {
            throw err instanceof RuntimeException re ? re : new java.util.concurrent.CompletionException(err);
          }
          return r;
        }
        return withOverhead(r, slot, timing);
      });
    };
  }

  private HttpResponse withOverhead(HttpResponse r, String slot, Timing timing) {
    boolean grpc = r.entity().getContentType().mediaType().toString().startsWith("application/grpc");
    if (grpc && r.entity() instanceof HttpEntity.Chunked chunked) {
      // a gRPC stream: its trailer comes after the last message, when the model has answered
      var parts = chunked.getChunks()
          .map(part -> (org.apache.pekko.http.scaladsl.model.HttpEntity.ChunkStreamPart)
              (part.isLastChunk() ? lastWithOverhead(part, slot, timing) : part))
          .watchTermination((mat, done) -> {
            done.whenComplete((d, e) -> open.remove(slot));
            return mat;
          });
      return r.withEntity(org.apache.pekko.http.scaladsl.model.HttpEntity.Chunked$.MODULE$.apply(
          (org.apache.pekko.http.scaladsl.model.ContentType) r.entity().getContentType(), parts.asScala()));
    }
    open.remove(slot);
    RawHeader overhead = header(timing);
    var trailer = r.getAttribute(AttributeKeys.trailer);
    if (grpc && trailer.isPresent()) {
      return r.addAttribute(AttributeKeys.trailer, trailer.get().addHeader(overhead));
    }
    return r.addHeader(overhead);
  }

  private HttpEntity.ChunkStreamPart lastWithOverhead(HttpEntity.ChunkStreamPart last, String slot,
                                                     Timing timing) {
    open.remove(slot);
    List<HttpHeader> trailer = new ArrayList<>();
    last.getTrailerHeaders().forEach(trailer::add);
    trailer.add(header(timing));
    return HttpEntity.ChunkStreamPart.createLast(last.extension(), trailer);
  }

  private RawHeader header(Timing timing) {
    long nanos = timing.overheadNanos(System.nanoTime());
    overheadSeconds.accept(nanos / 1e9);
    return RawHeader.create(OVERHEAD_HEADER, millis(nanos));
  }

  /** Nanoseconds as milliseconds with three decimals, rounded half up ({@code String.format} costs more per call). */
  static String millis(long nanos) {
    long micros = (nanos + 500) / 1000;
    String fraction = Long.toString(1000 + micros % 1000);
    return (micros / 1000) + "." + fraction.substring(1);
  }

  /** Requests whose answers are still on their way (for tests: nothing may stay behind). */
  int open() {
    return open.size();
  }
}
