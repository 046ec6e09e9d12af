package aimos.billing.ledger;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Reads a tenant's ledger of a month page by page, in sequence order, or as a stream of pages in constant memory.
 * Which buckets hold the month comes from {@link MonthRange} (the rollups' first and last sequence numbers).
 */
public final class LedgerReader {
  public static final int DEFAULT_PAGE = 100;
  /** Rows per page read when exporting. */
  public static final int EXPORT_PAGE = LedgerRepository.MAX_PAGE;

  /** Where a tenant's usage events of a month are in its sequence numbers (empty: it has none). */
  @FunctionalInterface
  public interface MonthRange {
    CompletionStage<Optional<SequenceRange>> of(String tenantId, String month);
  }

  /** A page as callers see it: rows and the cursor of the next page (null after the last). */
  public record Page(List<LedgerRow> rows, String nextCursor) {}

  private final LedgerRepository ledger;
  private final MonthRange ranges;

  public LedgerReader(LedgerRepository ledger, MonthRange ranges) {
    this.ledger = ledger;
    this.ranges = ranges;
  }

  /**
   * One page; {@code cursor} empty for the first. Refuses (IllegalArgumentException, with the reason) a limit
   * outside 1-{@value LedgerRepository#MAX_PAGE} and a cursor that is not one of this month's.
   */
  public CompletionStage<Page> page(String tenantId, String month, Optional<String> cursor, int limit) {
    if (limit < 1 || limit > LedgerRepository.MAX_PAGE) {
      throw new IllegalArgumentException("limit must be 1-" + LedgerRepository.MAX_PAGE + ", was " + limit);
    }
    long from = cursor.map(c -> LedgerCursor.decode(c, month)).orElse(1L);
    return ranges.of(tenantId, month).thenCompose(range -> range.isEmpty()
        ? CompletableFuture.completedFuture(new Page(List.of(), null))
        : ledger.page(tenantId, month, range.get(), from, limit).thenApply(p -> new Page(p.rows(),
            p.nextSequenceNr().isPresent() ? LedgerCursor.encode(month, p.nextSequenceNr().getAsLong()) : null)));
  }

  /** Every row of the month in sequence order, read {@code pageSize} rows at a time as the stream is pulled. */
  public Source<LedgerRow, NotUsed> rows(String tenantId, String month, int pageSize) {
    if (pageSize < 1 || pageSize > LedgerRepository.MAX_PAGE) {
      throw new IllegalArgumentException("page size must be 1-" + LedgerRepository.MAX_PAGE + ", was " + pageSize);
    }
    return Source.completionStage(ranges.of(tenantId, month)).flatMapConcat(range -> range.isEmpty()
        ? Source.<LedgerRow>empty()
        : Source.<Long, List<LedgerRow>>unfoldAsync(range.get().first(), from -> from < 0
            ? CompletableFuture.completedFuture(Optional.empty())
            : ledger.page(tenantId, month, range.get(), from, pageSize).thenApply(p -> Optional.of(
                Pair.create(p.nextSequenceNr().orElse(-1L), p.rows()))))
            .mapConcat(rows -> rows));
  }

  /** Every row of the month, at most {@code maxRows} of them (more fail the stage): for checks and tests. */
  public CompletionStage<List<LedgerRow>> collect(String tenantId, String month, int maxRows,
                                                  org.apache.pekko.actor.ClassicActorSystemProvider system) {
    return rows(tenantId, month, EXPORT_PAGE).limit(maxRows)
        .runWith(org.apache.pekko.stream.javadsl.Sink.seq(), system);
  }
}
