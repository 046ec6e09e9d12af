package aimos.billing.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** The retry schedule a node runs by default, and the jitter around each delay. */
class WebhookSettingsTest {
  private static final WebhookSettings DEFAULTS = WebhookSettings.from(ConfigFactory.load().getConfig("aimos.webhooks"));

  /** A generator whose every double is {@code d}. */
  private static RandomGenerator always(double d) {
    return new RandomGenerator() {
      @Override
      public long nextLong() {
        return 0;
      }

      @Override
      public double nextDouble() {
        return d;
      }
    };
  }

  @Test
  void theDefaultScheduleIsTheStandardWebhooksOne() {
    // the specification's suggestion: immediately, 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours,
    // 10 hours (8 attempts over about 28 hours)
    assertEquals(List.of(Duration.ZERO, Duration.ofSeconds(5), Duration.ofMinutes(5), Duration.ofMinutes(30),
        Duration.ofHours(2), Duration.ofHours(5), Duration.ofHours(10), Duration.ofHours(10)), DEFAULTS.retrySchedule());
    assertEquals(8, DEFAULTS.maxAttempts());
    assertEquals(0.2, DEFAULTS.jitter());
    assertEquals(Duration.ZERO, DEFAULTS.delayBefore(1, always(0.9)), "the first attempt is not delayed");
  }

  @Test
  void eachDelayIsSpreadWithinItsJitterAndOnlyThere() {
    assertEquals(Duration.ofMinutes(4), DEFAULTS.delayBefore(3, always(0)));
    assertEquals(Duration.ofMinutes(5), DEFAULTS.delayBefore(3, always(0.5)));
    assertEquals(Duration.ofMillis(Math.round(300_000 * (1 + 0.2 * (2 * 0.999 - 1)))),
        DEFAULTS.delayBefore(3, always(0.999)));
    Random random = new Random(42);
    long min = Long.MAX_VALUE;
    long max = 0;
    for (int i = 0; i < 2000; i++) {
      long ms = DEFAULTS.delayBefore(5, random).toMillis();
      assertTrue(ms >= 5_760_000 && ms <= 8_640_000, ms + " ms is outside 2 h +-20 %");
      min = Math.min(min, ms);
      max = Math.max(max, ms);
    }
    // spread over the band, so that receivers that failed together are not retried together
    assertTrue(min < 6_000_000 && max > 8_400_000, min + " .. " + max);
    // past the schedule's end the last delay repeats (the sender gives up after maxAttempts)
    assertEquals(Duration.ofHours(10), DEFAULTS.delayBefore(12, always(0.5)));
  }

  @Test
  void aScheduleOrJitterOutOfBoundsIsRefusedSayingWhichSetting() {
    var base = ConfigFactory.load().getConfig("aimos.webhooks");
    var e = assertThrows(IllegalArgumentException.class, () -> WebhookSettings.from(
        base.withValue("jitter", ConfigValueFactory.fromAnyRef(1.5))));
    assertEquals("aimos.webhooks.jitter must be between 0 and 1, was 1.5", e.getMessage());
    var empty = assertThrows(IllegalArgumentException.class, () -> WebhookSettings.from(
        base.withValue("retry-schedule", ConfigValueFactory.fromIterable(List.of()))));
    assertTrue(empty.getMessage().contains("retry-schedule must list 1 to 20 delays"), empty.getMessage());
  }
}
