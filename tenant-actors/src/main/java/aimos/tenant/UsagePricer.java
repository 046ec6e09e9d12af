package aimos.tenant;

import aimos.api.v1.BillingUnit;

/**
 * Prices one metered inference in micro-dollars. The billing module's price catalog implements it; the tenant uses it
 * to tell the caller what a request cost and to enforce the monthly budget. It must be a pure function.
 */
@FunctionalInterface
public interface UsagePricer {
  long chargeMicros(BillingUnit unit, long unitPriceMicros, Units units, long monthTokensBefore);
}
