package aimos.billing.pricing;

import aimos.serialization.KryoSerializable;
import java.util.Map;

/**
 * A price list as an admin asks for it, its amounts already checked; the price book decides whether its effective
 * time is acceptable and gives it an id ({@link PriceBook#refusal}).
 */
public record PriceListDraft(long effectiveFromMillis, PriceCatalog prices, Map<String, Long> modelUnitPrices)
    implements KryoSerializable {
  /** At most this many per-model prices in one list, so that a list stays a small message between nodes. */
  public static final int MAX_MODEL_PRICES = 1_000;

  public PriceListDraft {
    if (prices == null) {
      throw new IllegalArgumentException("a price list needs its default prices and volume discount");
    }
    checkModelPrices(modelUnitPrices);
    modelUnitPrices = Map.copyOf(modelUnitPrices);
  }

  static void checkModelPrices(Map<String, Long> modelUnitPrices) {
    if (modelUnitPrices == null) {
      throw new IllegalArgumentException("models must be an object of model name to unit price (may be empty)");
    }
    if (modelUnitPrices.size() > MAX_MODEL_PRICES) {
      throw new IllegalArgumentException("at most " + MAX_MODEL_PRICES + " model prices in one price list, got "
          + modelUnitPrices.size());
    }
    modelUnitPrices.forEach((model, micros) -> {
      if (model == null || model.isBlank()) {
        throw new IllegalArgumentException("a model price needs a model name");
      }
      if (micros == null) {
        throw new IllegalArgumentException("models." + model + " needs a unit price");
      }
      PriceCatalog.checkUnitPrice("models." + model, micros);
    });
  }
}
