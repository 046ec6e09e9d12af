package aimos.tenant;

/**
 * A bucket holding up to one minute's allowance, refilled continuously. It may go below zero when actual usage
 * (tokens known only after the inference) exceeds what was available; later requests then wait for the refill.
 */
final class TokenBucket {
  private long perMinute = -1;
  private double level;
  private long lastNanos;

  void configure(long perMinute, long nowNanos) {
    if (this.perMinute != perMinute) {
      this.perMinute = perMinute;
      this.level = perMinute;
      this.lastNanos = nowNanos;
      return;
    }
    double refill = (nowNanos - lastNanos) / 60e9 * perMinute;
    level = Math.min(perMinute, level + refill);
    lastNanos = nowNanos;
  }

  double available() {
    return level;
  }

  void take(long n) {
    level -= n;
  }

  long millisUntil(long n) {
    double missing = n - level;
    return missing <= 0 ? 0 : (long) Math.ceil(missing / perMinute * 60_000);
  }
}
