package aimos.billing.webhook;

import java.time.Clock;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers one bucket of endpoints: reads the bucket's due rows from the outbox every poll interval and attempts each,
 * at most {@code max-in-flight-per-endpoint} at once per endpoint and {@code max-in-flight} in all, so that a receiver
 * that hangs holds only its own slots until its request times out. There is one dispatcher per bucket in the cluster
 * (a sharded daemon process, moved to another node when its node leaves); the outbox rows are the truth, so a new
 * dispatcher simply carries on where the old one stopped.
 */
public final class WebhookDispatcher {
  private static final Logger log = LoggerFactory.getLogger(WebhookDispatcher.class);
  public static final String NAME = "webhook-dispatcher";
  /**
   * Rows read per poll. A bucket with more pending rows is read a page per poll, each poll after the last row of the
   * previous one and from the start again after the last page, so no due row waits behind rows that are not due.
   */
  static final int READ_LIMIT = 1000;

  public interface Command {}

  private enum Tick implements Command { INSTANCE }

  private record Polled(List<WebhookStore.Pending> rows, Throwable failure) implements Command {}

  private record Finished(WebhookStore.Pending row, Throwable failure) implements Command {}

  /** Starts the cluster's dispatchers (one per bucket) through this node's sharding. */
  public static void init(ActorSystem<?> system, WebhookStore store, WebhookSender sender, WebhookSettings settings,
                          Clock clock) {
    ShardedDaemonProcess.get(system).init(Command.class, NAME, WebhookSettings.DISPATCHERS,
        bucket -> create(bucket, store, sender, settings, clock), ShardedDaemonProcessSettings.create(system),
        java.util.Optional.empty());
  }

  static Behavior<Command> create(int bucket, WebhookStore store, WebhookSender sender, WebhookSettings settings,
                                  Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.pollInterval());
      return new WebhookDispatcher(ctx, bucket, store, sender, settings, clock).behavior();
    }));
  }

  private final ActorContext<Command> ctx;
  private final int bucket;
  private final WebhookStore store;
  private final WebhookSender sender;
  private final WebhookSettings settings;
  private final Clock clock;
  private final Set<String> inFlight = new HashSet<>();
  private final Map<String, Integer> perEndpoint = new HashMap<>();
  private boolean polling;
  /** The last row of the previous page; null: read from the start. */
  private WebhookStore.Pending readAfter;

  private WebhookDispatcher(ActorContext<Command> ctx, int bucket, WebhookStore store, WebhookSender sender,
                            WebhookSettings settings, Clock clock) {
    this.ctx = ctx;
    this.bucket = bucket;
    this.store = store;
    this.sender = sender;
    this.settings = settings;
    this.clock = clock;
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Tick.INSTANCE, this::poll)
        .onMessage(Polled.class, this::polled)
        .onMessage(Finished.class, this::finished)
        .build();
  }

  private Behavior<Command> poll() {
    if (!polling && inFlight.size() < settings.maxInFlight()) {
      polling = true;
      ctx.pipeToSelf(readAfter == null ? store.pending(bucket, READ_LIMIT)
          : store.pendingAfter(readAfter, READ_LIMIT), Polled::new);
    }
    return Behaviors.same();
  }

  private Behavior<Command> polled(Polled p) {
    polling = false;
    if (p.failure() != null) {
      log.warn("Webhook dispatcher {} could not read its outbox: {}", bucket, p.failure().toString());
      readAfter = null;
      return Behaviors.same();
    }
    readAfter = p.rows().size() < READ_LIMIT ? null : p.rows().get(p.rows().size() - 1);
    Instant now = clock.instant();
    p.rows().stream().filter(r -> !r.dueAt().isAfter(now)).sorted(Comparator.comparing(WebhookStore.Pending::dueAt))
        .forEach(this::start);
    return Behaviors.same();
  }

  private void start(WebhookStore.Pending row) {
    String key = key(row);
    String endpoint = row.tenantId() + "/" + row.endpointId();
    if (inFlight.contains(key) || inFlight.size() >= settings.maxInFlight()
        || perEndpoint.getOrDefault(endpoint, 0) >= settings.maxInFlightPerEndpoint()) {
      return;
    }
    inFlight.add(key);
    perEndpoint.merge(endpoint, 1, Integer::sum);
    ctx.pipeToSelf(sender.attempt(row), (Done d, Throwable t) -> new Finished(row, t));
  }

  private Behavior<Command> finished(Finished f) {
    inFlight.remove(key(f.row()));
    perEndpoint.computeIfPresent(f.row().tenantId() + "/" + f.row().endpointId(), (k, n) -> n <= 1 ? null : n - 1);
    if (f.failure() != null) {
      // the outbox could not be updated: the row stays due and is tried again at the next poll
      log.warn("Webhook delivery {} to {}/{} could not be recorded: {}", f.row().eventId(), f.row().tenantId(),
          f.row().endpointId(), f.failure().toString());
    }
    return Behaviors.same();
  }

  private static String key(WebhookStore.Pending row) {
    return row.tenantId() + "/" + row.endpointId() + "/" + row.eventId();
  }
}
