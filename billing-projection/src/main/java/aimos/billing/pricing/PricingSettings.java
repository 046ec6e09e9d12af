package aimos.billing.pricing;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The price book's settings, read once from {@code aimos.billing}: the configured prices (price list 1), how far
 * ahead a new list must take effect ({@code price-change-lead}) and how often each node refreshes its copy
 * ({@code price-refresh-interval}). The lead must leave a node time for a few refreshes, else a node could price
 * with a list that is no longer in force.
 */
public record PricingSettings(PriceCatalog configured, Duration lead, Duration refreshInterval) {
  /** Refreshes a node gets within the lead, at least. */
  static final int REFRESHES_PER_LEAD = 3;

  public PricingSettings {
    if (refreshInterval.isNegative() || refreshInterval.isZero()) {
      throw new IllegalArgumentException("aimos.billing.price-refresh-interval must be positive, was " + refreshInterval);
    }
    if (lead.compareTo(refreshInterval.multipliedBy(REFRESHES_PER_LEAD)) < 0) {
      throw new IllegalArgumentException("aimos.billing.price-change-lead (" + lead + ") must be at least "
          + REFRESHES_PER_LEAD + " times aimos.billing.price-refresh-interval (" + refreshInterval + "), so that "
          + "every node knows a new price list before it takes effect");
    }
  }

  public static PricingSettings from(Config billing) {
    return new PricingSettings(PriceCatalog.fromConfig(billing.getConfig("prices")),
        billing.getDuration("price-change-lead"), billing.getDuration("price-refresh-interval"));
  }
}
