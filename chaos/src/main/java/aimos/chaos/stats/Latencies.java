package aimos.chaos.stats;

import org.HdrHistogram.Histogram;

/**
 * Latencies in nanoseconds and their percentiles, for the load tool, the drills and the benches alike: an
 * HdrHistogram with three significant digits (a percentile is exact to 0.1%), whatever the number of samples.
 *
 * <p>Open-loop runs (the drills) record each request from the moment it was meant to be sent, not from when a
 * late sender got round to it, so that a stalled client cannot hide the stall (coordinated omission).
 */
public final class Latencies {
  private final Histogram histogram = new Histogram(3);

  public static Latencies of(long... nanos) {
    Latencies l = new Latencies();
    for (long n : nanos) {
      l.record(n);
    }
    return l;
  }

  public synchronized void record(long nanos) {
    histogram.recordValue(Math.max(0, nanos));
  }

  /** Records an open-loop request meant to start at {@code intendedStartNanos} that ended at {@code endNanos}. */
  public void recordFromIntendedStart(long intendedStartNanos, long endNanos) {
    record(endNanos - intendedStartNanos);
  }

  public synchronized long count() {
    return histogram.getTotalCount();
  }

  /** The {@code percentile} (0-100) in milliseconds; NaN without samples. */
  public synchronized double percentileMillis(double percentile) {
    return histogram.getTotalCount() == 0 ? Double.NaN : histogram.getValueAtPercentile(percentile) / 1e6;
  }

  public synchronized double maxMillis() {
    return histogram.getTotalCount() == 0 ? Double.NaN : histogram.getMaxValue() / 1e6;
  }

  public synchronized double meanMillis() {
    return histogram.getTotalCount() == 0 ? Double.NaN : histogram.getMean() / 1e6;
  }
}
