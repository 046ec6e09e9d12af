package aimos.billing.projection;

import aimos.billing.ledger.LedgerRepository;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.rollup.RollupWriter;
import aimos.billing.rollup.SequencedUsage;
import aimos.tenant.TenantEntity;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * Turns each {@link TenantEntity.UsageRecorded} into a ledger row (with the charge the event recorded) and folds it
 * into the usage rollups, a group of events at a time. Both are stored before the group's offset is saved.
 * Delivery is at least once: a redelivered row overwrites itself (same key), and the rollups skip events they have
 * already folded in.
 */
public final class BillingProjectionHandler {
  private final LedgerRepository ledger;
  private final RollupWriter rollups;
  private final ProjectionMonitor monitor;

  public BillingProjectionHandler(LedgerRepository ledger, RollupWriter rollups, ProjectionMonitor monitor) {
    this.ledger = ledger;
    this.rollups = rollups;
    this.monitor = monitor;
  }

  /** Stores the usage of {@code events}, given in each tenant's sequence order. */
  public CompletionStage<Done> process(List<SequencedEvent> events) {
    List<LedgerRow> rows = new ArrayList<>(events.size());
    List<SequencedUsage> usage = new ArrayList<>(events.size());
    long newest = -1;
    for (SequencedEvent event : events) {
      if (event.event() instanceof TenantEntity.UsageRecorded e) {
        rows.add(LedgerRow.recorded(event.persistenceId(), event.sequenceNr(), e));
        usage.add(new SequencedUsage(event.sequenceNr(), e));
        newest = Math.max(newest, e.recordedAtMillis());
      }
    }
    if (rows.isEmpty()) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    long recordedAt = newest;
    return ledger.upsertAll(rows).thenCompose(written -> rollups.apply(usage)).thenApply(done -> {
      long now = System.currentTimeMillis();
      monitor.projectionLagMillis(Math.max(0, now - recordedAt));
      for (SequencedUsage u : usage) {
        monitor.usageVisibleAfterMillis(Math.max(0, now - u.event().recordedAtMillis()));
      }
      return done;
    });
  }
}
