package aimos.billing.projection;

import aimos.billing.ledger.LedgerRepository;
import aimos.billing.rollup.RollupRepository;
import aimos.billing.rollup.RollupWriter;
import aimos.tenant.TenantEntity;
import java.time.Duration;
import java.util.Optional;
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
 * handled in groups (up to 500, or what arrived within 200 ms); the offset is saved after each group's ledger rows and
 * rollups are written, so a restart writes the same rows again and skips what the rollups already hold.
 */
public final class BillingProjection {
  public static final String NAME = "billing-ledger";
  /** A group is handed to the handler when it holds this many envelopes, or {@link #GROUP_WITHIN} after its first. */
  public static final int GROUP_SIZE = 500;
  /** The longest an envelope waits for others to join its group: part of usage freshness. */
  public static final Duration GROUP_WITHIN = Duration.ofMillis(200);

  private BillingProjection() {}

  public static void init(ActorSystem<?> system, LedgerRepository ledger, RollupRepository rollups,
                          ProjectionMonitor monitor) {
    ShardedDaemonProcess.get(system).init(ProjectionBehavior.Command.class, NAME, TenantEntity.TAGS.size(),
        i -> ProjectionBehavior.create(projection(system, TenantEntity.TAGS.get(i), ledger, rollups, monitor)),
        ShardedDaemonProcessSettings.create(system), Optional.of(ProjectionBehavior.stopMessage()));
  }

  public static GroupedProjection<Offset, EventEnvelope<TenantEntity.Event>> projection(
      ActorSystem<?> system, String tag, LedgerRepository ledger, RollupRepository rollups, ProjectionMonitor monitor) {
    SourceProvider<Offset, EventEnvelope<TenantEntity.Event>> source =
        EventSourcedProvider.eventsByTag(system, CassandraReadJournal.Identifier(), tag);
    // a group's ledger rows and rollups are written, then its offset saved: at least once, and both are idempotent.
    // Every usage event of a tenant carries the same tag, so this projection is the only writer of the tenant's
    // rollups and sees its events in sequence order; each start gets a fresh (cold) rollup cache.
    return CassandraProjection.groupedWithin(ProjectionId.of(NAME, tag), source,
            () -> new BillingProjectionHandler(ledger, new RollupWriter(rollups, RollupWriter.DEFAULT_CACHE_ROWS),
                monitor))
        .withGroup(GROUP_SIZE, GROUP_WITHIN);
  }
}
