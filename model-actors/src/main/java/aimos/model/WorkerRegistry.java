package aimos.model;

import aimos.model.sandbox.Worker;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The workers serving a model's versions, as they announce themselves by heartbeat. In memory only: after a move or a
 * restart of the entity, workers re-register within one heartbeat interval.
 */
final class WorkerRegistry {
  record Entry(String workerId, String version, ActorRef<Worker.Command> ref, int slots, String node,
               long lastSeenNanos) {}

  private final Map<String, Entry> workers = new HashMap<>();

  /** Records a heartbeat; true when the worker is new. */
  boolean heartbeat(ModelEntity.RegisterWorker c, long nowNanos) {
    return workers.put(c.workerId(), new Entry(c.workerId(), c.version(), c.worker(), c.slots(), c.node(), nowNanos))
        == null;
  }

  boolean remove(String workerId) {
    return workers.remove(workerId) != null;
  }

  Collection<Entry> all() {
    return workers.values();
  }

  Set<String> ids() {
    return workers.keySet();
  }

  int size() {
    return workers.size();
  }

  boolean serves(String version) {
    return workers.values().stream().anyMatch(w -> w.version().equals(version));
  }

  /** Workers silent for longer than {@code timeoutNanos}, or on a node that is no longer up. */
  List<String> gone(long nowNanos, long timeoutNanos, Set<String> upNodes) {
    return workers.values().stream()
        .filter(w -> nowNanos - w.lastSeenNanos() > timeoutNanos || !upNodes.contains(w.node()))
        .map(Entry::workerId)
        .toList();
  }
}
