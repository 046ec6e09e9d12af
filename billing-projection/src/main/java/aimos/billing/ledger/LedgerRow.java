package aimos.billing.ledger;

import aimos.api.v1.BillingUnit;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;

/**
 * One metered request as billed. Its identity is (persistenceId, sequenceNr), so writing it twice is harmless. Its
 * charge and unit price are those recorded in the usage event: money is decided once, where usage is recorded.
 */
public record LedgerRow(String tenantId, String month, String persistenceId, long sequenceNr, String requestId,
                        String model, String version, BillingUnit unit, long unitPriceMicros, Units units,
                        long monthTokensBefore, long chargeMicros, long recordedAtMillis) {

  /** The row a usage event must produce: the projection and the reconciliation both build it here. */
  public static LedgerRow recorded(String persistenceId, long sequenceNr, TenantEntity.UsageRecorded e) {
    return new LedgerRow(e.tenantId(), e.month(), persistenceId, sequenceNr, e.requestId(), e.model(), e.version(),
        e.unit(), e.unitPriceMicros(), e.units(), e.monthTokensBefore(), e.chargeMicros(), e.recordedAtMillis());
  }
}
