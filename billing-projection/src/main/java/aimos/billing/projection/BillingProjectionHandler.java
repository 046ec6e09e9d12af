package aimos.billing.projection;

import aimos.billing.ledger.LedgerRepository;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.TenantEntity;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongConsumer;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Turns each {@link TenantEntity.UsageRecorded} into a priced ledger row, a group of envelopes at a time. Delivery is
 * at least once; the row's key (persistenceId, sequenceNr) makes a redelivery overwrite the same row.
 */
public final class BillingProjectionHandler extends Handler<List<EventEnvelope<TenantEntity.Event>>> {
  private final LedgerRepository ledger;
  private final PriceCatalog catalog;
  private final LongConsumer lagMillis;

  public BillingProjectionHandler(LedgerRepository ledger, PriceCatalog catalog, LongConsumer lagMillis) {
    this.ledger = ledger;
    this.catalog = catalog;
    this.lagMillis = lagMillis;
  }

  @Override
  public CompletionStage<Done> process(List<EventEnvelope<TenantEntity.Event>> envelopes) {
    List<LedgerRow> rows = new ArrayList<>(envelopes.size());
    long newest = -1;
    for (EventEnvelope<TenantEntity.Event> envelope : envelopes) {
      if (envelope.event() instanceof TenantEntity.UsageRecorded e) {
        rows.add(row(envelope, e));
        newest = Math.max(newest, e.recordedAtMillis());
      }
    }
    if (rows.isEmpty()) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    long recordedAt = newest;
    return ledger.upsertAll(rows).thenApply(done -> {
      lagMillis.accept(Math.max(0, System.currentTimeMillis() - recordedAt));
      return done;
    });
  }

  private LedgerRow row(EventEnvelope<TenantEntity.Event> envelope, TenantEntity.UsageRecorded e) {
    return LedgerRow.priced(envelope.persistenceId(), envelope.sequenceNr(), e, catalog);
  }
}
