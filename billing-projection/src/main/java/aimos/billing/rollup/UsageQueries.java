package aimos.billing.rollup;

import aimos.billing.ledger.SequenceRange;
import aimos.billing.ledger.UsageReport;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;

/**
 * Every usage read: from the rollups only, so its cost is bounded by days x models x versions, never by the
 * number of requests.
 */
public final class UsageQueries {
  private final RollupRepository rollups;

  public UsageQueries(RollupRepository rollups) {
    this.rollups = rollups;
  }

  public CompletionStage<UsageReport> report(String tenantId, String month) {
    return rollups.days(tenantId, month).thenApply(days -> report(tenantId, month, days));
  }

  /** The month's usage per day and model version, ordered by day, model, version. */
  public CompletionStage<List<UsagePoint>> daily(String tenantId, String month) {
    return rollups.days(tenantId, month).thenApply(UsageQueries::points);
  }

  /** The day's usage per hour (UTC) and model version, ordered by hour, model, version. */
  public CompletionStage<List<UsagePoint>> hourly(String tenantId, String day) {
    return rollups.hours(tenantId, day).thenApply(UsageQueries::points);
  }

  /**
   * The sequence numbers of the month's usage events, first to last, as folded into the rollups: where the month's
   * ledger rows are. Empty when the month has none.
   */
  public CompletionStage<Optional<SequenceRange>> sequenceRange(String tenantId, String month) {
    return rollups.days(tenantId, month).thenApply(UsageQueries::range);
  }

  static Optional<SequenceRange> range(List<RollupRow> rows) {
    return rows.stream().filter(r -> r.lastSequenceNr() > 0)
        .map(r -> new SequenceRange(r.firstSequenceNr(), r.lastSequenceNr())).reduce(SequenceRange::union);
  }

  private static List<UsagePoint> points(List<RollupRow> rows) {
    return rows.stream().map(UsagePoint::of)
        .sorted(Comparator.comparing(UsagePoint::period).thenComparing(UsagePoint::model)
            .thenComparing(UsagePoint::version)).toList();
  }

  static UsageReport report(String tenantId, String month, List<RollupRow> days) {
    UsageTotals all = UsageTotals.ZERO;
    Map<List<String>, UsageTotals> perVersion = new TreeMap<>(
        Comparator.<List<String>, String>comparing(l -> l.get(0)).thenComparing(l -> l.get(1)));
    for (RollupRow d : days) {
      all = all.plus(d.totals());
      perVersion.merge(List.of(d.key().model(), d.key().version()), d.totals(), UsageTotals::plus);
    }
    List<UsageReport.ModelLine> lines = perVersion.entrySet().stream().map(e -> {
      UsageTotals t = e.getValue();
      return new UsageReport.ModelLine(e.getKey().get(0), e.getKey().get(1), t.requests(), t.tokens(), t.images(),
          t.audioMillis(), t.chargeMicros(), t.requestsOver100ms());
    }).toList();
    return new UsageReport(tenantId, month, all.requests(), all.promptTokens(), all.completionTokens(), all.images(),
        all.audioMillis(), all.chargeMicros(), lines, all.requestsOver100ms());
  }
}
