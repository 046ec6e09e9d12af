package aimos.billing.ledger;

import aimos.api.v1.BillingUnit;
import aimos.tenant.Units;

/** One priced usage event. Its identity is (persistenceId, sequenceNr), so writing it twice is harmless. */
public record LedgerRow(String tenantId, String month, String persistenceId, long sequenceNr, String requestId,
                        String model, String version, BillingUnit unit, long unitPriceMicros, Units units,
                        long monthTokensBefore, long chargeMicros, long recordedAtMillis) {}
