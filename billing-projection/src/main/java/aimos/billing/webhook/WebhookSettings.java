package aimos.billing.webhook;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/**
 * {@code aimos.webhooks}: where deliveries may go, the retry schedule (the delay before each attempt; the first is
 * usually 0), its jitter, timeouts, how many requests may be in flight per endpoint and per dispatcher, how often
 * dispatchers look for due deliveries, how long a rotated-out secret keeps signing, and how many endpoints a tenant may
 * have.
 */
public record WebhookSettings(boolean allowPrivateTargets, List<Duration> retrySchedule, double jitter,
                              Duration connectTimeout, Duration requestTimeout, int maxInFlightPerEndpoint,
                              int maxInFlight, Duration pollInterval, Duration secretRotationOverlap,
                              int maxEndpointsPerTenant) {
  /** Dispatchers (buckets of endpoints) in the cluster: fixed, since pending rows are stored by bucket. */
  public static final int DISPATCHERS = 8;

  public WebhookSettings {
    if (retrySchedule.isEmpty() || retrySchedule.size() > 20) {
      throw new IllegalArgumentException("aimos.webhooks.retry-schedule must list 1 to 20 delays");
    }
    if (jitter < 0 || jitter > 1) {
      throw new IllegalArgumentException("aimos.webhooks.jitter must be between 0 and 1, was " + jitter);
    }
    if (maxInFlightPerEndpoint < 1 || maxInFlight < maxInFlightPerEndpoint) {
      throw new IllegalArgumentException("aimos.webhooks: max-in-flight-per-endpoint must be at least 1 and at most "
          + "max-in-flight");
    }
    if (maxEndpointsPerTenant < 1 || maxEndpointsPerTenant > 100) {
      throw new IllegalArgumentException("aimos.webhooks.max-endpoints-per-tenant must be 1-100");
    }
  }

  public static WebhookSettings from(Config c) {
    return new WebhookSettings(c.getBoolean("allow-private-targets"), c.getDurationList("retry-schedule"),
        c.getDouble("jitter"), c.getDuration("connect-timeout"), c.getDuration("request-timeout"),
        c.getInt("max-in-flight-per-endpoint"), c.getInt("max-in-flight"), c.getDuration("poll-interval"),
        c.getDuration("secret-rotation-overlap"), c.getInt("max-endpoints-per-tenant"));
  }

  /** Attempts in all: one per entry of the schedule. */
  public int maxAttempts() {
    return retrySchedule.size();
  }

  /** The delay before attempt {@code n} (1-based), spread by +-jitter so that failures do not retry in lockstep. */
  public Duration delayBefore(int attempt, java.util.random.RandomGenerator random) {
    Duration base = retrySchedule.get(Math.min(attempt, retrySchedule.size()) - 1);
    double factor = 1 + jitter * (2 * random.nextDouble() - 1);
    return Duration.ofMillis(Math.round(base.toMillis() * factor));
  }

  public static int bucketOf(String tenantId, String endpointId) {
    return Math.floorMod((tenantId + "/" + endpointId).hashCode(), DISPATCHERS);
  }
}
