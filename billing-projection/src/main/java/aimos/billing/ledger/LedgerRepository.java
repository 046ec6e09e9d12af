package aimos.billing.ledger;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** Where billed usage lives, one row per usage event. Writes are idempotent by (persistenceId, sequenceNr). */
public interface LedgerRepository {
  /** The most rows one page may hold. */
  int MAX_PAGE = 1000;

  CompletionStage<Done> upsert(LedgerRow row);

  /** Writes many rows; each is still idempotent on its own, so a partial failure is repaired by writing again. */
  default CompletionStage<Done> upsertAll(List<LedgerRow> rows) {
    java.util.concurrent.CompletableFuture<?>[] writes = rows.stream()
        .map(r -> upsert(r).toCompletableFuture()).toArray(java.util.concurrent.CompletableFuture[]::new);
    return java.util.concurrent.CompletableFuture.allOf(writes).thenApply(v -> Done.getInstance());
  }

  /**
   * Up to {@code limit} (1 to {@value #MAX_PAGE}) of the tenant's rows of the month with sequence numbers from
   * {@code fromSequenceNr} within {@code range}, in sequence order.
   */
  /**
   * The range widened to the whole storage units (partitions) it touches: a check that must also find rows no event
   * explains reads these, since such rows may lie outside the events' range.
   */
  default SequenceRange wholePartitions(SequenceRange range) {
    return range;
  }

  CompletionStage<LedgerPage> page(String tenantId, String month, SequenceRange range, long fromSequenceNr, int limit);
}
