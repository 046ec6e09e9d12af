package aimos.tenant;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * Group commit: usage accepted but not yet written, in arrival order, with who waits for each request id. The entity
 * writes a whole batch as one journal write and answers its callers once that write succeeded; requests that arrive
 * while a write is in progress form the next batch, so one tenant's throughput is not bounded by one write's latency.
 */
final class UsageBatch {
  record Pending(TenantEntity.UsageRecorded event, List<ActorRef<StatusReply<TenantEntity.Recorded>>> waiting) {}

  private final LinkedHashMap<String, Pending> unwritten = new LinkedHashMap<>();

  boolean isEmpty() {
    return unwritten.isEmpty();
  }

  /** The unwritten usage of the request id, or null. */
  Pending get(String requestId) {
    return unwritten.get(requestId);
  }

  /** Tokens of the unwritten usage in {@code month}: they count towards the month before the next request. */
  long tokensIn(String month) {
    long tokens = 0;
    for (Pending p : unwritten.values()) {
      if (p.event().month().equals(month)) {
        tokens += p.event().units().tokens();
      }
    }
    return tokens;
  }

  void add(TenantEntity.UsageRecorded event, ActorRef<StatusReply<TenantEntity.Recorded>> replyTo) {
    List<ActorRef<StatusReply<TenantEntity.Recorded>>> waiting = new ArrayList<>(1);
    waiting.add(replyTo);
    unwritten.put(event.requestId(), new Pending(event, waiting));
  }

  /** Takes the whole batch out, to be written. */
  List<Pending> drain() {
    List<Pending> batch = new ArrayList<>(unwritten.values());
    unwritten.clear();
    return batch;
  }
}
