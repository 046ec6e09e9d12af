package aimos.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Leases on worker slots: each a slot with a TTL, counted per worker (to pick the least loaded) and per tenant (what
 * the tenant holds now, and the most it held at once). In memory only: a moved entity starts with none, and leases
 * granted before expire at their workers.
 */
final class LeaseTable {
  private record Lease(String workerId, String tenantId, long expiresNanos, String holder) {}

  /** A lease as its holder sees it. */
  record Held(String leaseId, String workerId) {}

  private final Map<String, Lease> leases = new HashMap<>();
  private final Map<String, Integer> load = new HashMap<>();
  private final Map<String, Integer> tenantLeases = new HashMap<>();
  private final Map<String, Integer> peakTenantLeases = new HashMap<>();
  /** The lease of each holder that named itself (see {@link ModelEntity.AcquireLease#holder()}). */
  private final Map<String, String> byHolder = new HashMap<>();
  /** Lease ids are unique within this incarnation: a counter, no random source on the hot path. */
  private final String incarnation = Long.toHexString(System.nanoTime());
  private long leaseCounter;

  /** The least loaded worker of the version with a free slot, or null. */
  WorkerRegistry.Entry leastLoaded(WorkerRegistry workers, String version) {
    WorkerRegistry.Entry best = null;
    int bestLoad = Integer.MAX_VALUE;
    for (WorkerRegistry.Entry w : workers.all()) {
      if (!w.version().equals(version)) {
        continue;
      }
      int l = load.getOrDefault(w.workerId(), 0);
      if (l < w.slots() && l < bestLoad) {
        best = w;
        bestLoad = l;
      }
    }
    return best;
  }

  /** Takes a slot on the worker; the new lease id. */
  String grant(String workerId, String tenantId, long expiresNanos, String holder) {
    String leaseId = incarnation + "-" + (++leaseCounter);
    leases.put(leaseId, new Lease(workerId, tenantId, expiresNanos, holder));
    if (!holder.isEmpty()) {
      byHolder.put(holder, leaseId);
    }
    load.merge(workerId, 1, Integer::sum);
    int held = tenantLeases.merge(tenantId, 1, Integer::sum);
    peakTenantLeases.merge(tenantId, held, Math::max);
    return leaseId;
  }

  void renew(String leaseId, long expiresNanos) {
    leases.computeIfPresent(leaseId, (id, l) -> new Lease(l.workerId(), l.tenantId(), expiresNanos, l.holder()));
  }

  /** The lease the holder has now; null when it has none. */
  Held heldBy(String holder) {
    String leaseId = byHolder.get(holder);
    Lease l = leaseId == null ? null : leases.get(leaseId);
    return l == null ? null : new Held(leaseId, l.workerId());
  }

  void release(String leaseId) {
    Lease l = leases.remove(leaseId);
    if (l != null) {
      if (!l.holder().isEmpty()) {
        byHolder.remove(l.holder(), leaseId);
      }
      load.computeIfPresent(l.workerId(), (k, v) -> v <= 1 ? null : v - 1);
      tenantLeases.computeIfPresent(l.tenantId(), (k, v) -> v <= 1 ? null : v - 1);
    }
  }

  /** Releases the leases of a worker that is gone. */
  void releaseAllOf(String workerId) {
    List<String> ofWorker = leases.entrySet().stream().filter(e -> e.getValue().workerId().equals(workerId))
        .map(Map.Entry::getKey).toList();
    ofWorker.forEach(this::release);
    load.remove(workerId);
  }

  /** Releases the leases whose TTL has passed; whether there were any. */
  boolean expire(long nowNanos) {
    List<String> expired = new ArrayList<>();
    leases.forEach((id, l) -> {
      if (l.expiresNanos() - nowNanos < 0) {
        expired.add(id);
      }
    });
    expired.forEach(this::release);
    return !expired.isEmpty();
  }

  int size() {
    return leases.size();
  }

  Map<String, Integer> byWorker(WorkerRegistry workers) {
    Map<String, Integer> byWorker = new HashMap<>();
    workers.ids().forEach(w -> byWorker.put(w, load.getOrDefault(w, 0)));
    return byWorker;
  }

  Map<String, Integer> byTenant() {
    return new HashMap<>(tenantLeases);
  }

  Map<String, Integer> peakByTenant() {
    return new HashMap<>(peakTenantLeases);
  }
}
