package aimos.billing.reconciliation;

import aimos.tenant.TenantEntity;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Request ids a tenant was charged for twice while it still remembered the first charge: within its dedup window
 * ({@link TenantEntity#DEDUP_WINDOW} newer requests, {@link TenantEntity#DEDUP_HORIZON}) a retry must be answered
 * from the recording, so a second row is a fault. An id reused past the window is a new request, run and billed
 * again as documented, and is not one. Fed a tenant's ledger rows in sequence order.
 */
final class DoubleCharges {
  /** Per request id: the rank (1, 2, ...) and recording time of its latest row. */
  private final Map<String, long[]> latest = new HashMap<>();
  private final TreeSet<String> found = new TreeSet<>();
  private long rank;

  void see(String requestId, long recordedAtMillis) {
    rank++;
    long[] earlier = latest.put(requestId, new long[] {rank, recordedAtMillis});
    // the earlier row is forgotten once DEDUP_WINDOW newer requests were recorded, or the horizon has passed
    if (earlier != null && rank - earlier[0] <= TenantEntity.DEDUP_WINDOW
        && Math.abs(recordedAtMillis - earlier[1]) < TenantEntity.DEDUP_HORIZON.toMillis()) {
      found.add(requestId);
    }
  }

  /** The request ids found, sorted. */
  List<String> requestIds() {
    return List.copyOf(found);
  }
}
