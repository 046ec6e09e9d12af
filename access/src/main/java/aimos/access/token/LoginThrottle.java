package aimos.access.token;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Slows down guessing: each client address has a bucket of failed logins that refills slowly; while it is empty the
 * address is refused before any token is checked. The table is bounded (oldest addresses dropped first), so a flood of
 * addresses costs memory only up to that bound.
 */
public final class LoginThrottle {
  static final int MAX_CLIENTS = 10_000;

  private final int burst;
  private final long refillNanos;
  private final LongSupplier nanoTime;
  private final Map<String, long[]> clients = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
      return size() > MAX_CLIENTS;
    }
  };

  public LoginThrottle(int burst, Duration refillInterval, LongSupplier nanoTime) {
    if (burst < 1) {
      throw new IllegalArgumentException("failed-logins.burst must be at least 1, was " + burst);
    }
    if (refillInterval.isNegative() || refillInterval.isZero()) {
      throw new IllegalArgumentException("failed-logins.refill-interval must be positive");
    }
    this.burst = burst;
    this.refillNanos = refillInterval.toNanos();
    this.nanoTime = nanoTime;
  }

  /** How long the client must wait before it may try again; zero when it may try now. */
  public synchronized Duration retryAfter(String client) {
    long[] b = clients.get(client);
    if (b == null) {
      return Duration.ZERO;
    }
    refill(b);
    if (b[0] > 0) {
      return Duration.ZERO;
    }
    return Duration.ofNanos(Math.max(1, refillNanos - (nanoTime.getAsLong() - b[1])));
  }

  /** Counts one failed login of the client. */
  public synchronized void failed(String client) {
    long[] b = clients.computeIfAbsent(client, c -> new long[] {burst, nanoTime.getAsLong()});
    refill(b);
    if (b[0] > 0) {
      b[0]--;
    }
  }

  /** b[0]: failures left; b[1]: when the last refill step was taken. */
  private void refill(long[] b) {
    long now = nanoTime.getAsLong();
    long steps = (now - b[1]) / refillNanos;
    if (steps > 0) {
      b[0] = Math.min(burst, b[0] + steps);
      b[1] = b[0] == burst ? now : b[1] + steps * refillNanos;
    }
  }
}
