package aimos.billing.projection;

import aimos.billing.ledger.LedgerRepository;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.TenantEntity;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongConsumer;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;

/**
 * Turns each {@link TenantEntity.UsageRecorded} into a priced ledger row. Delivery is at least once; the row's key
 * (persistenceId, sequenceNr) makes a redelivery overwrite the same row.
 */
public final class BillingProjectionHandler extends Handler<EventEnvelope<TenantEntity.Event>> {
  private final LedgerRepository ledger;
  private final PriceCatalog catalog;
  private final LongConsumer lagMillis;

  public BillingProjectionHandler(LedgerRepository ledger, PriceCatalog catalog, LongConsumer lagMillis) {
    this.ledger = ledger;
    this.catalog = catalog;
    this.lagMillis = lagMillis;
  }

  @Override
  public CompletionStage<Done> process(EventEnvelope<TenantEntity.Event> envelope) {
    if (!(envelope.event() instanceof TenantEntity.UsageRecorded e)) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    long charge = catalog.chargeMicros(e.unit(), e.unitPriceMicros(), e.units(), e.monthTokensBefore());
    LedgerRow row = new LedgerRow(e.tenantId(), e.month(), envelope.persistenceId(), envelope.sequenceNr(),
        e.requestId(), e.model(), e.version(), e.unit(), e.unitPriceMicros(), e.units(), e.monthTokensBefore(),
        charge, e.recordedAtMillis());
    return ledger.upsert(row).thenApply(done -> {
      lagMillis.accept(Math.max(0, System.currentTimeMillis() - e.recordedAtMillis()));
      return done;
    });
  }
}
