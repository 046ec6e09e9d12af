package aimos.billing.pricing;

import aimos.api.v1.BillingUnit;
import aimos.tenant.Money;
import aimos.tenant.Units;
import aimos.tenant.UsagePricer;
import com.typesafe.config.Config;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Prices usage exactly, in integer micro-dollars. Seed prices: $0.02 per 1,000 tokens, $0.01 per image, $0.10 per
 * audio minute; tokens beyond 1M in a tenant's calendar month cost 10% less. A model version may carry its own unit
 * price; the catalog's prices are the defaults for new versions.
 *
 * <p>Rounding: each request's charge is computed exactly and then rounded half-even to the micro-dollar once.
 */
public final class PriceCatalog implements UsagePricer {
  private static final BigDecimal THOUSAND = BigDecimal.valueOf(1000);
  private static final BigDecimal MILLIS_PER_MINUTE = BigDecimal.valueOf(60_000);
  private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

  private final long tokensPer1kMicros;
  private final long imageMicros;
  private final long audioMinuteMicros;
  private final long discountThresholdTokens;
  private final BigDecimal discountedShare;

  public PriceCatalog(long tokensPer1kMicros, long imageMicros, long audioMinuteMicros, long discountThresholdTokens,
                      int discountPercent) {
    if (discountPercent < 0 || discountPercent > 100) {
      throw new IllegalArgumentException("volume discount must be 0-100 percent, was " + discountPercent);
    }
    this.tokensPer1kMicros = tokensPer1kMicros;
    this.imageMicros = imageMicros;
    this.audioMinuteMicros = audioMinuteMicros;
    this.discountThresholdTokens = discountThresholdTokens;
    this.discountedShare = HUNDRED.subtract(BigDecimal.valueOf(discountPercent)).divide(HUNDRED);
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

  @Override
  public long chargeMicros(BillingUnit unit, long unitPriceMicros, Units units, long monthTokensBefore) {
    BigDecimal price = BigDecimal.valueOf(unitPriceMicros);
    BigDecimal exact = switch (unit) {
      case TOKENS -> {
        long total = units.tokens();
        long fullPrice = Math.max(0, Math.min(total, discountThresholdTokens - monthTokensBefore));
        long discounted = total - fullPrice;
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
