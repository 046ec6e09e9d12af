package aimos.node.gateway;

import aimos.api.v1.InferResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The outputs this node gave lately, so that a retry that the tenant answers from its recording (without running the
 * model) gets the output too when it comes back to the same node within {@code ttl}. Bounded in bytes; the oldest go
 * first. A retry on another node, or later, gets the recorded usage without output.
 */
final class RecentAnswers {
  private record Kept(String fingerprint, InferResponse output, long expiresNanos, long bytes) {}

  private final LinkedHashMap<String, Kept> kept = new LinkedHashMap<>();
  private final long maxBytes;
  private final Duration ttl;
  private long bytes;

  RecentAnswers(long maxBytes, Duration ttl) {
    this.maxBytes = maxBytes;
    this.ttl = ttl;
  }

  private static String key(String tenantId, String requestId) {
    return tenantId + "\n" + requestId;
  }

  /** Keeps the output fields of an answer; one larger than a sixteenth of the budget is not kept. */
  synchronized void keep(String tenantId, String requestId, String fingerprint, InferResponse output) {
    long size = output.getSerializedSize() + requestId.length() + 64L;
    if (maxBytes <= 0 || size > maxBytes / 16) {
      return;
    }
    Kept previous = kept.remove(key(tenantId, requestId));
    if (previous != null) {
      bytes -= previous.bytes();
    }
    kept.put(key(tenantId, requestId), new Kept(fingerprint, output, System.nanoTime() + ttl.toNanos(), size));
    bytes += size;
    evict();
  }

  /** The kept output of the request id, if it is the same input's and not expired. */
  synchronized Optional<InferResponse> find(String tenantId, String requestId, String fingerprint) {
    evict();
    Kept k = kept.get(key(tenantId, requestId));
    return k != null && k.fingerprint().equals(fingerprint) ? Optional.of(k.output()) : Optional.empty();
  }

  private void evict() {
    long now = System.nanoTime();
    Iterator<Map.Entry<String, Kept>> oldestFirst = kept.entrySet().iterator();
    while (oldestFirst.hasNext()) {
      Kept k = oldestFirst.next().getValue();
      if (bytes <= maxBytes && k.expiresNanos() - now > 0) {
        break;
      }
      bytes -= k.bytes();
      oldestFirst.remove();
    }
  }
}
