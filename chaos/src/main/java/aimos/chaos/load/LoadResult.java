package aimos.chaos.load;

import aimos.chaos.stats.Latencies;
import java.util.Map;
import java.util.TreeMap;

/** What one load phase measured: counts, throughput and latency percentiles. */
public record LoadResult(String name, long ok, long failed, Map<String, Long> failures, double seconds,
                         Latencies latencies) {

  public double throughput() {
    return ok / seconds;
  }

  public double percentileMillis(double p) {
    return latencies.percentileMillis(p);
  }

  static LoadResult of(String name, long failed, Map<String, Long> failures, double seconds, Latencies latencies) {
    return new LoadResult(name, latencies.count(), failed, new TreeMap<>(failures), seconds, latencies);
  }

  public String line() {
    return String.format("%-22s %8d ok %6d failed %10.1f req/s   p50 %7.2f ms   p95 %7.2f ms   p99 %7.2f ms",
        name, ok, failed, throughput(), percentileMillis(50), percentileMillis(95), percentileMillis(99));
  }
}
