package aimos.billing.alerts;

import aimos.billing.notify.BillingEvent;
import aimos.billing.notify.BillingEvents;
import aimos.tenant.Money;
import aimos.tenant.TenantEntity;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.cassandra.javadsl.CassandraProjection;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.AtLeastOnceProjection;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Announces budget-threshold crossings: reads the tenants' {@link TenantEntity.BudgetThresholdCrossed} events (their
 * own tag) and publishes each as {@code budget.threshold_crossed} with an id made of tenant, month and threshold. The
 * offset is kept in Cassandra and saved after publishing (at least once); the outbox ignores an id it already has, so
 * a replay after a crash or a move announces nothing twice.
 */
public final class BudgetAlertProjection {
  public static final String NAME = "budget-alerts";
  private static final ObjectMapper JSON = new ObjectMapper();

  private BudgetAlertProjection() {}

  public static void init(ActorSystem<?> system, BillingEvents events) {
    ShardedDaemonProcess.get(system).init(ProjectionBehavior.Command.class, NAME, 1,
        i -> ProjectionBehavior.create(projection(system, events)), ShardedDaemonProcessSettings.create(system),
        Optional.of(ProjectionBehavior.stopMessage()));
  }

  public static AtLeastOnceProjection<Offset, EventEnvelope<TenantEntity.Event>> projection(ActorSystem<?> system,
                                                                                          BillingEvents events) {
    return CassandraProjection.atLeastOnce(ProjectionId.of(NAME, TenantEntity.BUDGET_ALERT_TAG),
        EventSourcedProvider.<TenantEntity.Event>eventsByTag(system, CassandraReadJournal.Identifier(),
            TenantEntity.BUDGET_ALERT_TAG), () -> new Publisher(events));
  }

  /** The event id: one per tenant, month and threshold, whoever publishes it and however often. */
  public static String eventId(TenantEntity.BudgetThresholdCrossed e) {
    return BillingEvent.BUDGET_THRESHOLD_CROSSED + ":" + e.tenantId() + ":" + e.month() + ":" + e.percent();
  }

  public static BillingEvent toBillingEvent(TenantEntity.BudgetThresholdCrossed e) {
    ObjectNode data = JSON.createObjectNode();
    data.put("tenantId", e.tenantId());
    data.put("month", e.month());
    data.put("thresholdPercent", e.percent());
    data.put("budgetUsd", Money.format(e.budgetMicros()));
    data.put("spendUsd", Money.format(e.spendMicros()));
    data.put("budgetMicros", e.budgetMicros());
    data.put("spendMicros", e.spendMicros());
    data.put("requestId", e.requestId());
    return new BillingEvent(eventId(e), e.tenantId(), BillingEvent.BUDGET_THRESHOLD_CROSSED,
        Instant.ofEpochMilli(e.crossedAtMillis()), data.toString());
  }

  static final class Publisher extends Handler<EventEnvelope<TenantEntity.Event>> {
    private final BillingEvents events;

    Publisher(BillingEvents events) {
      this.events = events;
    }

    @Override
    public CompletionStage<Done> process(EventEnvelope<TenantEntity.Event> envelope) {
      if (envelope.event() instanceof TenantEntity.BudgetThresholdCrossed e) {
        return events.publish(toBillingEvent(e));
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    }
  }
}
