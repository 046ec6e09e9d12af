package aimos.billing.projection;

import aimos.billing.ledger.LedgerRepository;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.TenantEntity;
import java.time.Duration;
import java.util.Optional;
import java.util.function.LongConsumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.cassandra.javadsl.CassandraProjection;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.GroupedProjection;
import org.apache.pekko.projection.javadsl.SourceProvider;

/**
 * Runs one billing projection per usage tag, spread over the cluster by a sharded daemon process. Envelopes are
 * handled in groups (up to 500, or what arrived within 200 ms); the offset is saved after each group is written, so
 * rows written again after a restart are the same rows.
 */
public final class BillingProjection {
  public static final String NAME = "billing-ledger";

  private BillingProjection() {}

  public static void init(ActorSystem<?> system, LedgerRepository ledger, PriceCatalog catalog, LongConsumer lagMillis) {
    ShardedDaemonProcess.get(system).init(ProjectionBehavior.Command.class, NAME, TenantEntity.TAGS.size(),
        i -> ProjectionBehavior.create(projection(system, TenantEntity.TAGS.get(i), ledger, catalog, lagMillis)),
        ShardedDaemonProcessSettings.create(system), Optional.of(ProjectionBehavior.stopMessage()));
  }

  static GroupedProjection<Offset, EventEnvelope<TenantEntity.Event>> projection(
      ActorSystem<?> system, String tag, LedgerRepository ledger, PriceCatalog catalog, LongConsumer lagMillis) {
    SourceProvider<Offset, EventEnvelope<TenantEntity.Event>> source =
        EventSourcedProvider.eventsByTag(system, CassandraReadJournal.Identifier(), tag);
    // a group is written, then its offset saved: at least once, and rows are idempotent
    return CassandraProjection.groupedWithin(ProjectionId.of(NAME, tag), source,
            () -> new BillingProjectionHandler(ledger, catalog, lagMillis))
        .withGroup(500, Duration.ofMillis(200));
  }
}
