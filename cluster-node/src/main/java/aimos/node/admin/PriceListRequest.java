package aimos.node.admin;

import aimos.billing.pricing.PriceCatalog;
import aimos.billing.pricing.PriceListDraft;
import aimos.model.ModelEntity;
import aimos.tenant.Money;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads the body of {@code POST /admin/prices} into a {@link PriceListDraft}. Every field is required except
 * {@code models}; amounts are dollar strings with at most six decimals. Each problem is an
 * {@link IllegalArgumentException} whose message names the field and says what to write instead.
 */
final class PriceListRequest {
  static final String EXAMPLE = "{\"effectiveFrom\": \"2026-12-15T00:00:00Z\", \"tokensPer1kUsd\": \"0.03\", "
      + "\"imageUsd\": \"0.01\", \"audioMinuteUsd\": \"0.10\", \"volumeDiscount\": {\"thresholdTokens\": 1000000, "
      + "\"percent\": 10}, \"models\": {\"demo-text\": \"0.05\"}}";
  private static final Set<String> FIELDS =
      Set.of("effectiveFrom", "tokensPer1kUsd", "imageUsd", "audioMinuteUsd", "volumeDiscount", "models");
  private static final Set<String> DISCOUNT_FIELDS = Set.of("thresholdTokens", "percent");

  private PriceListRequest() {}

  static PriceListDraft parse(JsonNode body) {
    onlyKnownFields(body, FIELDS, "");
    long effectiveFrom = instant(body.get("effectiveFrom"));
    long tokens = usd(body.get("tokensPer1kUsd"), "tokensPer1kUsd");
    long image = usd(body.get("imageUsd"), "imageUsd");
    long audio = usd(body.get("audioMinuteUsd"), "audioMinuteUsd");
    JsonNode discount = body.get("volumeDiscount");
    if (discount == null || !discount.isObject()) {
      throw new IllegalArgumentException("field 'volumeDiscount' is required: {\"thresholdTokens\": 1000000, "
          + "\"percent\": 10}");
    }
    onlyKnownFields(discount, DISCOUNT_FIELDS, "volumeDiscount.");
    long threshold = wholeNumber(discount.get("thresholdTokens"), "volumeDiscount.thresholdTokens", Long.MAX_VALUE);
    int percent = (int) wholeNumber(discount.get("percent"), "volumeDiscount.percent", 100);
    PriceCatalog prices = new PriceCatalog(tokens, image, audio, threshold, percent);
    return new PriceListDraft(effectiveFrom, prices, models(body.get("models")));
  }

  private static void onlyKnownFields(JsonNode node, Set<String> known, String prefix) {
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!known.contains(name)) {
        throw new IllegalArgumentException("unknown field '" + prefix + name + "'; a price list looks like " + EXAMPLE);
      }
    }
  }

  private static long instant(JsonNode v) {
    if (v == null || !v.isTextual()) {
      throw new IllegalArgumentException("field 'effectiveFrom' is required: an instant in UTC such as "
          + "\"2026-12-15T00:00:00Z\"");
    }
    Instant at;
    try {
      at = Instant.parse(v.asText());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("effectiveFrom must be an instant in UTC such as \"2026-12-15T00:00:00Z\", "
          + "was '" + v.asText() + "'");
    }
    if (at.getNano() % 1_000_000 != 0) {
      throw new IllegalArgumentException("effectiveFrom must be a whole millisecond, was " + at);
    }
    return at.toEpochMilli();
  }

  private static long usd(JsonNode v, String field) {
    if (v == null || !v.isTextual()) {
      throw new IllegalArgumentException("field '" + field + "' is required: a dollar amount as a string, such as "
          + "\"0.03\"");
    }
    long micros;
    try {
      micros = Money.parseUsd(v.asText());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(field + ": " + e.getMessage());
    }
    PriceCatalog.checkUnitPrice(field, micros);
    return micros;
  }

  private static long wholeNumber(JsonNode v, String field, long max) {
    if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() > max) {
      throw new IllegalArgumentException("field '" + field + "' is required and must be a whole number from 0 to "
          + max);
    }
    return v.asLong();
  }

  private static Map<String, Long> models(JsonNode v) {
    Map<String, Long> prices = new TreeMap<>();
    if (v == null || v.isNull()) {
      return prices;
    }
    if (!v.isObject()) {
      throw new IllegalArgumentException("field 'models' must be an object of model name to unit price, such as "
          + "{\"demo-text\": \"0.05\"}");
    }
    if (v.size() > PriceListDraft.MAX_MODEL_PRICES) {
      throw new IllegalArgumentException("at most " + PriceListDraft.MAX_MODEL_PRICES + " model prices in one price "
          + "list, got " + v.size());
    }
    v.fields().forEachRemaining(e -> {
      if (!ModelEntity.isValidName(e.getKey())) {
        throw new IllegalArgumentException("models: a model name must be " + ModelEntity.nameRule() + ", was '"
            + e.getKey() + "'");
      }
      prices.put(e.getKey(), usd(e.getValue(), "models." + e.getKey()));
    });
    return prices;
  }
}
