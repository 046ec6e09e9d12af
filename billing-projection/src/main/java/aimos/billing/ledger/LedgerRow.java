package aimos.billing.ledger;

import aimos.api.v1.BillingUnit;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;

/** One priced usage event. Its identity is (persistenceId, sequenceNr), so writing it twice is harmless. */
public record LedgerRow(String tenantId, String month, String persistenceId, long sequenceNr, String requestId,
                        String model, String version, BillingUnit unit, long unitPriceMicros, Units units,
                        long monthTokensBefore, long chargeMicros, long recordedAtMillis) {

  /** The row a usage event must produce: the projection and the reconciliation both price it here. */
  public static LedgerRow priced(String persistenceId, long sequenceNr, TenantEntity.UsageRecorded e,
                                 PriceCatalog catalog) {
    long charge = catalog.chargeMicros(e.unit(), e.unitPriceMicros(), e.units(), e.monthTokensBefore());
    return new LedgerRow(e.tenantId(), e.month(), persistenceId, sequenceNr, e.requestId(), e.model(), e.version(),
        e.unit(), e.unitPriceMicros(), e.units(), e.monthTokensBefore(), charge, e.recordedAtMillis());
  }
}
