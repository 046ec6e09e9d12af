package aimos.billing.rollup;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * Folds a projection's usage events into the rollup rows, exactly, under at-least-once delivery and restarts:
 * each row records the last sequence number folded in, so a redelivered event is skipped; rows are written with
 * absolute values, conditional on the revision the writer read, so a concurrent write (a repair, or another
 * projection instance during a hand-over) is never overwritten: the writer reads the row again and folds its events
 * into what is stored. One writer per projection instance; it keeps the rows it touched in a bounded cache.
 */
public final class RollupWriter {
  /** Conditional writes lost in a row before the group fails (and the projection retries it from its offset). */
  static final int MAX_ATTEMPTS = 10;
  public static final int DEFAULT_CACHE_ROWS = 10_000;

  private final RollupRepository rollups;
  private final RowCache cache;

  public RollupWriter(RollupRepository rollups, int cacheRows) {
    this.rollups = rollups;
    this.cache = new RowCache(cacheRows);
  }

  /** Folds the events (of any tenants, in delivery order) into their day and hour rows. */
  public CompletionStage<Done> apply(List<SequencedUsage> events) {
    Map<RollupKey, List<SequencedUsage>> byRow = new LinkedHashMap<>();
    for (SequencedUsage u : events) {
      for (RollupKey key : RollupKey.of(u.event())) {
        byRow.computeIfAbsent(key, k -> new ArrayList<>()).add(u);
      }
    }
    List<CompletableFuture<Done>> writes = new ArrayList<>(byRow.size());
    byRow.forEach((key, rowEvents) -> {
      rowEvents.sort(Comparator.comparingLong(SequencedUsage::sequenceNr));
      writes.add(applyToRow(key, rowEvents, 1).toCompletableFuture());
    });
    return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
  }

  private CompletionStage<Done> applyToRow(RollupKey key, List<SequencedUsage> events, int attempt) {
    RollupRow cached = cache.get(key);
    CompletionStage<RollupRow> base = cached != null
        ? CompletableFuture.completedFuture(cached)
        : rollups.read(key).thenApply(row -> row.orElseGet(() -> RollupRow.empty(key)));
    CompletionStage<Done> result = base.thenCompose(row -> {
      RollupRow next = row;
      for (SequencedUsage u : events) {
        next = next.fold(u);
      }
      if (next == row) {
        cache.put(row);
        return CompletableFuture.completedFuture(Done.getInstance());
      }
      RollupRow written = next.withRevision(row.revision() + 1);
      return rollups.write(next, row.revision()).thenCompose(applied -> {
        if (applied) {
          cache.put(written);
          return CompletableFuture.completedFuture(Done.getInstance());
        }
        // someone else wrote the row since we read it: start again from what is stored
        cache.forget(key);
        if (attempt >= MAX_ATTEMPTS) {
          return CompletableFuture.failedFuture(new IllegalStateException("rollup row " + key + " changed under "
              + MAX_ATTEMPTS + " writes in a row; the group will be retried"));
        }
        return applyToRow(key, events, attempt + 1);
      });
    });
    return result.whenComplete((done, err) -> {
      if (err != null) {
        // the write may or may not have landed: read the row again next time
        cache.forget(key);
      }
    });
  }

  int cachedRows() {
    return cache.size();
  }
}
