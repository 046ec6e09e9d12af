package aimos.access.audit;

import aimos.serialization.KryoSerializable;
import java.security.PrivateKey;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;

/**
 * The cluster's single audit writer: one sharded entity that appends records one at a time, each chained to the one
 * before and signed. It starts from the newest record in the table; a write that finds its seq taken (a second writer
 * for a moment) makes it re-read the table and retry, so the chain never forks. The same append sent twice (a retry
 * after a lost reply) is recorded once.
 */
public final class AuditLog {
  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "AuditLog");
  public static final String ENTITY_ID = "all";
  private static final int REMEMBERED_REQUEST_IDS = 10_000;

  public sealed interface Command extends KryoSerializable {}

  /** What one mutation did; the writer adds seq, time, chain and signature. */
  public record Append(String actor, String role, String action, String target, String requestId, String summary,
                       ActorRef<StatusReply<AuditRecord>> replyTo) implements Command {}

  /** The newest record's seq and hash, as the writer knows them (0 and "" when the log is empty). */
  public record GetHead(ActorRef<Head> replyTo) implements Command {}

  public record Head(long seq, String hash) implements KryoSerializable {}

  private record Started(Optional<AuditRecord> last) implements Command {}

  private record StartFailed(Throwable cause) implements Command {}

  private record Written(AuditRecord record, Append append) implements Command {}

  private record Conflict(Append append) implements Command {}

  private record WriteFailed(Append append, Throwable cause) implements Command {}

  public static void init(ActorSystem<?> system, AuditStore store, Optional<PrivateKey> key) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(store, key, Clock.systemUTC())));
  }

  public static EntityRef<Command> ref(ActorSystem<?> system) {
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, ENTITY_ID);
  }

  public static Behavior<Command> create(AuditStore store, Optional<PrivateKey> key, Clock clock) {
    return Behaviors.withStash(10_000, stash -> Behaviors.setup(ctx -> new AuditLog(ctx, stash, store, key, clock)
        .starting()));
  }

  private final ActorContext<Command> ctx;
  private final StashBuffer<Command> stash;
  private final AuditStore store;
  private final Optional<PrivateKey> key;
  private final Clock clock;
  private AuditRecord last;
  /** An append whose seq another writer took: retried once the log is re-read. */
  private Append retry;
  private final Map<String, AuditRecord> recent = new LinkedHashMap<>(1024, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, AuditRecord> eldest) {
      return size() > REMEMBERED_REQUEST_IDS;
    }
  };

  private AuditLog(ActorContext<Command> ctx, StashBuffer<Command> stash, AuditStore store, Optional<PrivateKey> key,
                   Clock clock) {
    this.ctx = ctx;
    this.stash = stash;
    this.store = store;
    this.key = key;
    this.clock = clock;
  }

  private Behavior<Command> starting() {
    ctx.pipeToSelf(store.last(), (last, err) -> err == null ? new Started(last) : new StartFailed(err));
    return Behaviors.receive(Command.class)
        .onMessage(Started.class, s -> {
          last = s.last().orElse(null);
          if (retry != null) {
            Append a = retry;
            retry = null;
            return appendThenWrite(a);
          }
          return stash.unstashAll(idle());
        })
        .onMessage(StartFailed.class, f -> {
          ctx.getLog().warn("Audit log: cannot read its newest record ({}); retrying", f.cause().toString());
          return starting();
        })
        .onAnyMessage(m -> {
          stash.stash(m);
          return Behaviors.same();
        })
        .build();
  }

  private Behavior<Command> idle() {
    return Behaviors.receive(Command.class)
        .onMessage(Append.class, this::appendThenWrite)
        .onMessage(GetHead.class, this::head)
        .build();
  }

  private Behavior<Command> head(GetHead g) {
    g.replyTo().tell(last == null ? new Head(0, "") : new Head(last.seq(), last.hash()));
    return Behaviors.same();
  }

  private Behavior<Command> appendThenWrite(Append a) {
    AuditRecord known = recent.get(a.requestId());
    // only an identical append is a retry: a reused request id with another change is recorded again
    if (known != null && known.action().equals(a.action()) && known.actor().equals(a.actor())
        && known.target().equals(a.target()) && known.summary().equals(a.summary())) {
      a.replyTo().tell(StatusReply.success(known));
      return stash.isEmpty() ? idle() : stash.unstashAll(idle());
    }
    AuditRecord next = AuditChain.next(last, clock.millis(), a.actor(), a.role(), a.action(), a.target(),
        a.requestId(), a.summary(), key);
    ctx.pipeToSelf(store.insert(next), (applied, err) -> err != null ? new WriteFailed(a, err)
        : applied ? new Written(next, a) : new Conflict(a));
    return writing();
  }

  /** One write in flight: everything else waits, so records are chained in the order they are written. */
  private Behavior<Command> writing() {
    return Behaviors.receive(Command.class)
        .onMessage(Written.class, w -> {
          last = w.record();
          recent.put(w.append().requestId(), w.record());
          w.append().replyTo().tell(StatusReply.success(w.record()));
          return stash.unstashAll(idle());
        })
        .onMessage(Conflict.class, c -> {
          ctx.getLog().warn("Audit log: seq {} was written by another writer; re-reading the log", 
              last == null ? 1 : last.seq() + 1);
          retry = c.append();
          return starting();
        })
        .onMessage(WriteFailed.class, f -> {
          f.append().replyTo().tell(StatusReply.error("the audit record could not be written: "
              + f.cause().getMessage()));
          return stash.unstashAll(idle());
        })
        .onAnyMessage(m -> {
          stash.stash(m);
          return Behaviors.same();
        })
        .build();
  }
}
