package aimos.billing.rollup;

/**
 * One point of a usage chart: a model version's usage in one day ({@code period} "2026-11-05") or one hour
 * ({@code period} "2026-11-05T13:00:00Z").
 */
public record UsagePoint(String period, String model, String version, long requests, long promptTokens,
                         long completionTokens, long images, long audioMillis, long chargeMicros,
                         long requestsOver100ms, long firstSequenceNr, long lastSequenceNr) {

  static UsagePoint of(RollupRow r) {
    RollupKey k = r.key();
    String period = k.grain() == Grain.DAY ? k.slot() : k.partition() + "T%02d:00:00Z".formatted(k.hour());
    UsageTotals t = r.totals();
    return new UsagePoint(period, k.model(), k.version(), t.requests(), t.promptTokens(), t.completionTokens(),
        t.images(), t.audioMillis(), t.chargeMicros(), t.requestsOver100ms(), r.firstSequenceNr(), r.lastSequenceNr());
  }
}
