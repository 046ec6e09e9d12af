package aimos.billing.rollup;

import aimos.tenant.TenantEntity;

/** Sums of usage: what a rollup row holds. Money is integer micro-dollars, copied from each event's charge. */
public record UsageTotals(long requests, long promptTokens, long completionTokens, long images, long audioMillis,
                          long chargeMicros, long requestsOver100ms) {
  public static final UsageTotals ZERO = new UsageTotals(0, 0, 0, 0, 0, 0, 0);
  /** A request slower than this (the event's latency) counts in {@code requestsOver100ms}. */
  public static final long SLOW_MICROS = 100_000;

  public UsageTotals plus(TenantEntity.UsageRecorded e) {
    return new UsageTotals(Math.addExact(requests, 1), Math.addExact(promptTokens, e.units().promptTokens()),
        Math.addExact(completionTokens, e.units().completionTokens()), Math.addExact(images, e.units().images()),
        Math.addExact(audioMillis, e.units().audioMillis()), Math.addExact(chargeMicros, e.chargeMicros()),
        Math.addExact(requestsOver100ms, e.latencyMicros() > SLOW_MICROS ? 1 : 0));
  }

  public UsageTotals plus(UsageTotals o) {
    return new UsageTotals(Math.addExact(requests, o.requests), Math.addExact(promptTokens, o.promptTokens),
        Math.addExact(completionTokens, o.completionTokens), Math.addExact(images, o.images),
        Math.addExact(audioMillis, o.audioMillis), Math.addExact(chargeMicros, o.chargeMicros),
        Math.addExact(requestsOver100ms, o.requestsOver100ms));
  }

  public long tokens() {
    return Math.addExact(promptTokens, completionTokens);
  }
}
