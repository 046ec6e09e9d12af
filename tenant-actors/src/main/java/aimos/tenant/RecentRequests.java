package aimos.tenant;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The dedup window: the tenant's recorded request ids, each with its metered result. A request id is recognised
 * while it is among the newest {@link #MAX_IDS} recorded and was recorded less than {@link #HORIZON} ago (like
 * Stripe's idempotency keys); a retry within the window is answered from here without running the model, the same
 * id with another input is refused. Older ids are forgotten, so a request id reused after that is a new request.
 *
 * <p>The window is part of the entity's state: it is rebuilt from events and kept in snapshots, so it survives a
 * restart, a snapshot recovery and a move to another node. Entries are evicted by the recording time of newer
 * events (never by the wall clock), so a replay rebuilds exactly the window that was written.
 */
final class RecentRequests {
  /** How many request ids a tenant remembers at most: bounds the entity's memory and its snapshot's size. */
  static final int MAX_IDS = 10_000;
  /** How long a request id is remembered at most. */
  static final Duration HORIZON = Duration.ofHours(24);

  record Entry(TenantEntity.Recorded recorded, long recordedAtMillis) {}

  private final LinkedHashMap<String, Entry> byRequestId = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
      return size() > MAX_IDS;
    }
  };

  void add(TenantEntity.Recorded recorded, long recordedAtMillis) {
    byRequestId.put(recorded.requestId(), new Entry(recorded, recordedAtMillis));
    long horizonStart = recordedAtMillis - HORIZON.toMillis();
    var it = byRequestId.values().iterator();
    while (it.hasNext()) {
      if (it.next().recordedAtMillis() >= horizonStart) {
        break;
      }
      it.remove();
    }
  }

  /** The recorded result of the request id if it is within the window at {@code nowMillis}, else null. */
  TenantEntity.Recorded get(String requestId, long nowMillis) {
    Entry e = byRequestId.get(requestId);
    return e == null || e.recordedAtMillis() < nowMillis - HORIZON.toMillis() ? null : e.recorded();
  }

  /** The recorded result of the request id whatever its age, or null: for answering the batch that recorded it. */
  TenantEntity.Recorded recorded(String requestId) {
    Entry e = byRequestId.get(requestId);
    return e == null ? null : e.recorded();
  }

  /** Oldest first. */
  Collection<Entry> entries() {
    return byRequestId.values();
  }

  int size() {
    return byRequestId.size();
  }
}
