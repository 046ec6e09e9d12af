package aimos.chaos.load;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** What one load phase measured: counts, throughput and latency percentiles. */
public record LoadResult(String name, long ok, long failed, Map<String, Long> failures, double seconds,
                         long[] sortedLatencyNanos) {

  public double throughput() {
    return ok / seconds;
  }

  public double percentileMillis(double p) {
    if (sortedLatencyNanos.length == 0) {
      return Double.NaN;
    }
    int idx = (int) Math.ceil(p / 100.0 * sortedLatencyNanos.length) - 1;
    return sortedLatencyNanos[Math.max(0, Math.min(idx, sortedLatencyNanos.length - 1))] / 1e6;
  }

  static LoadResult of(String name, long failed, Map<String, Long> failures, double seconds, long[] latencies) {
    long[] sorted = latencies.clone();
    Arrays.sort(sorted);
    return new LoadResult(name, sorted.length, failed, new TreeMap<>(failures), seconds, sorted);
  }

  public String line() {
    return String.format("%-22s %8d ok %6d failed %10.1f req/s   p50 %7.2f ms   p95 %7.2f ms   p99 %7.2f ms",
        name, ok, failed, throughput(), percentileMillis(50), percentileMillis(95), percentileMillis(99));
  }
}
