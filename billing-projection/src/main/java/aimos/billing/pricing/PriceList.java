package aimos.billing.pricing;

import aimos.api.v1.BillingUnit;
import aimos.serialization.KryoSerializable;
import aimos.tenant.Units;
import aimos.tenant.UsagePricer;
import java.time.Instant;
import java.util.Map;

/**
 * One version of the prices: in force from {@code effectiveFromMillis} (UTC) until the next list's effective time.
 * {@code modelUnitPrices} (model name to the price of one billing unit of that model, in micro-dollars) replaces the
 * versions' own unit price of those models while the list is in force. Lists are added, never changed.
 */
public record PriceList(long id, long effectiveFromMillis, PriceCatalog prices, Map<String, Long> modelUnitPrices,
                        long addedAtMillis) implements KryoSerializable {
  public PriceList {
    if (id < 1) {
      throw new IllegalArgumentException("price list ids start at 1, was " + id);
    }
    PriceListDraft.checkModelPrices(modelUnitPrices);
    modelUnitPrices = Map.copyOf(modelUnitPrices);
  }

  /** A list made of what an admin asked for, with the id and time the price book gives it. */
  public static PriceList of(long id, PriceListDraft draft, long addedAtMillis) {
    return new PriceList(id, draft.effectiveFromMillis(), draft.prices(), draft.modelUnitPrices(), addedAtMillis);
  }

  public Instant effectiveFrom() {
    return Instant.ofEpochMilli(effectiveFromMillis);
  }

  /** The unit price this list applies to a request of {@code model}, whose version's own price is given. */
  public long unitPriceMicros(String model, long versionUnitPriceMicros) {
    return modelUnitPrices.getOrDefault(model, versionUnitPriceMicros);
  }

  public UsagePricer.Charge charge(String model, BillingUnit unit, long versionUnitPriceMicros, Units units,
                                   long monthTokensBefore) {
    long unitPrice = unitPriceMicros(model, versionUnitPriceMicros);
    return new UsagePricer.Charge(unitPrice, prices.chargeMicros(unit, unitPrice, units, monthTokensBefore), id);
  }
}
