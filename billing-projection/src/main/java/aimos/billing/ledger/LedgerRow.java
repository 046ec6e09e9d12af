package aimos.billing.ledger;

import aimos.api.v1.BillingUnit;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;

/** One priced usage event. Its identity is (persistenceId, sequenceNr), so writing it twice is harmless. */
public record LedgerRow(String tenantId, String month, String persistenceId, long sequenceNr, String requestId,
                        String model, String version, BillingUnit unit, long unitPriceMicros, Units units,
                        long monthTokensBefore, long chargeMicros, long recordedAtMillis) {

  /**
   * The row a usage event must produce, for the projection and the reconciliation alike: it copies the charge the
   * event recorded (decided once, by the price list in force when the usage was recorded) and never prices again,
   * so a later price change moves no row. {@code catalog} is no longer used.
   */
  public static LedgerRow priced(String persistenceId, long sequenceNr, TenantEntity.UsageRecorded e,
                                 PriceCatalog catalog) {
    long charge = e.chargeMicros();
    return new LedgerRow(e.tenantId(), e.month(), persistenceId, sequenceNr, e.requestId(), e.model(), e.version(),
        e.unit(), e.unitPriceMicros(), e.units(), e.monthTokensBefore(), charge, e.recordedAtMillis());
  }
}
