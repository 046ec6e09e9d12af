package aimos.tenant;

import aimos.api.v1.BillingUnit;

/**
 * Prices one metered inference in micro-dollars, when its usage is recorded: this charge is what the tenant's
 * budget, the ledger and every invoice use; nothing downstream prices again. The billing module's price book
 * implements it from the price list in force at the recording instant. It must not block (it runs in the tenant's
 * entity) and must be a pure function of its arguments and of price lists that, once in force, never change.
 */
@FunctionalInterface
public interface UsagePricer {
  /**
   * @param model the model that served the request (a price list may price it instead of its version)
   * @param versionUnitPriceMicros the version's own price of one billing unit
   * @param monthTokensBefore the tenant's tokens earlier in the same calendar month, for the volume discount
   * @param recordedAtMillis when the usage is recorded: the price list in force then prices it
   */
  Charge charge(String model, BillingUnit unit, long versionUnitPriceMicros, Units units, long monthTokensBefore,
                long recordedAtMillis);

  /**
   * The charge of one request, the unit price that produced it and the price list that decided both (0: none, the
   * price of the version as it is).
   */
  record Charge(long unitPriceMicros, long chargeMicros, long priceListId) {}
}
