package aimos.billing.pricing;

import aimos.api.v1.BillingUnit;
import aimos.serialization.KryoSerializable;
import aimos.tenant.Money;
import aimos.tenant.Units;
import com.typesafe.config.Config;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * The amounts of one price list, and the exact arithmetic of a charge in integer micro-dollars. Seed prices: $0.02
 * per 1,000 tokens, $0.01 per image, $0.10 per audio minute; tokens beyond 1M in a tenant's calendar month cost 10%
 * less. The unit prices are the defaults for model versions registered while the list is in force; a version carries
 * its own unit price, which a price list may replace per model ({@link PriceList}).
 *
 * <p>Rounding: each request's charge is computed exactly and then rounded half-even to the micro-dollar once.
 */
public record PriceCatalog(long tokensPer1kMicros, long imageMicros, long audioMinuteMicros,
                           long discountThresholdTokens, int discountPercent) implements KryoSerializable {
  private static final BigDecimal THOUSAND = BigDecimal.valueOf(1000);
  private static final BigDecimal MILLIS_PER_MINUTE = BigDecimal.valueOf(60_000);
  private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);
  /** No unit price above $1,000: keeps every charge of a plausible request far inside a long. */
  public static final long MAX_UNIT_PRICE_MICROS = 1_000_000_000L;

  public PriceCatalog {
    if (discountPercent < 0 || discountPercent > 100) {
      throw new IllegalArgumentException("volume discount must be 0-100 percent, was " + discountPercent);
    }
    if (discountThresholdTokens < 0) {
      throw new IllegalArgumentException("volume discount threshold cannot be negative, was " + discountThresholdTokens);
    }
    checkUnitPrice("tokensPer1kUsd", tokensPer1kMicros);
    checkUnitPrice("imageUsd", imageMicros);
    checkUnitPrice("audioMinuteUsd", audioMinuteMicros);
  }

  /** Refuses a negative unit price or one above {@link #MAX_UNIT_PRICE_MICROS}, naming the field. */
  public static void checkUnitPrice(String field, long micros) {
    if (micros < 0 || micros > MAX_UNIT_PRICE_MICROS) {
      throw new IllegalArgumentException(field + " must be between 0 and " + Money.format(MAX_UNIT_PRICE_MICROS)
          + " dollars, was " + Money.format(micros));
    }
  }

  /** The seed price list. */
  public static PriceCatalog seed() {
    return new PriceCatalog(20_000, 10_000, 100_000, 1_000_000, 10);
  }

  /** Reads {@code aimos.billing.prices}. */
  public static PriceCatalog fromConfig(Config c) {
    return new PriceCatalog(Money.parseUsd(c.getString("tokens-per-1k-usd")), Money.parseUsd(c.getString("image-usd")),
        Money.parseUsd(c.getString("audio-minute-usd")), c.getLong("volume-discount.threshold-tokens"),
        c.getInt("volume-discount.percent"));
  }

  public long defaultUnitPriceMicros(BillingUnit unit) {
    return switch (unit) {
      case TOKENS -> tokensPer1kMicros;
      case IMAGES -> imageMicros;
      case AUDIO_MINUTES -> audioMinuteMicros;
      default -> throw new IllegalArgumentException("no price for billing unit " + unit);
    };
  }

  /** The charge of {@code units} at {@code unitPriceMicros} per billing unit, with this list's volume discount. */
  public long chargeMicros(BillingUnit unit, long unitPriceMicros, Units units, long monthTokensBefore) {
    BigDecimal price = BigDecimal.valueOf(unitPriceMicros);
    BigDecimal exact = switch (unit) {
      case TOKENS -> {
        long total = units.tokens();
        long fullPrice = Math.max(0, Math.min(total, discountThresholdTokens - monthTokensBefore));
        long discounted = total - fullPrice;
        BigDecimal discountedShare = HUNDRED.subtract(BigDecimal.valueOf(discountPercent)).divide(HUNDRED);
        yield price.multiply(BigDecimal.valueOf(fullPrice))
            .add(price.multiply(BigDecimal.valueOf(discounted)).multiply(discountedShare))
            .divide(THOUSAND);
      }
      case IMAGES -> price.multiply(BigDecimal.valueOf(units.images()));
      case AUDIO_MINUTES -> price.multiply(BigDecimal.valueOf(units.audioMillis())).divide(MILLIS_PER_MINUTE, 12,
          RoundingMode.HALF_EVEN);
      default -> throw new IllegalArgumentException("no price for billing unit " + unit);
    };
    return exact.setScale(0, RoundingMode.HALF_EVEN).longValueExact();
  }
}
