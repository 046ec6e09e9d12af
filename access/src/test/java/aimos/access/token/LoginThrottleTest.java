package aimos.access.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoginThrottleTest {
  private final AtomicLong nanos = new AtomicLong();
  private final LoginThrottle throttle = new LoginThrottle(3, Duration.ofSeconds(6), nanos::get);

  @Test
  void aClientIsStoppedAfterItsBurstAndMayTryAgainAfterARefill() {
    for (int i = 0; i < 3; i++) {
      assertEquals(Duration.ZERO, throttle.retryAfter("10.0.0.1"));
      throttle.failed("10.0.0.1");
    }
    Duration wait = throttle.retryAfter("10.0.0.1");
    assertTrue(wait.compareTo(Duration.ZERO) > 0 && wait.compareTo(Duration.ofSeconds(6)) <= 0, wait.toString());
    assertEquals(Duration.ZERO, throttle.retryAfter("10.0.0.2"), "other clients are not affected");
    nanos.addAndGet(Duration.ofSeconds(6).toNanos());
    assertEquals(Duration.ZERO, throttle.retryAfter("10.0.0.1"), "one more attempt after one refill");
    throttle.failed("10.0.0.1");
    assertTrue(throttle.retryAfter("10.0.0.1").compareTo(Duration.ZERO) > 0);
  }

  @Test
  void theTableOfClientsIsBounded() {
    throttle.failed("client-0");
    throttle.failed("client-0");
    for (int i = 1; i <= LoginThrottle.MAX_CLIENTS; i++) {
      throttle.failed("client-" + i);
    }
    throttle.failed("client-0");
    // client-0 was dropped as the oldest entry, so its third failure starts a fresh burst instead of stopping it
    assertEquals(Duration.ZERO, throttle.retryAfter("client-0"));
  }
}
