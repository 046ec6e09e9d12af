package aimos.billing.ledger;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** Where priced usage lives. Writes are idempotent by (persistenceId, sequenceNr). */
public interface LedgerRepository {
  CompletionStage<Done> upsert(LedgerRow row);

  /** Writes many rows; each is still idempotent on its own, so a partial failure is repaired by writing again. */
  default CompletionStage<Done> upsertAll(List<LedgerRow> rows) {
    java.util.concurrent.CompletableFuture<?>[] writes = rows.stream()
        .map(r -> upsert(r).toCompletableFuture()).toArray(java.util.concurrent.CompletableFuture[]::new);
    return java.util.concurrent.CompletableFuture.allOf(writes).thenApply(v -> Done.getInstance());
  }

  CompletionStage<List<LedgerRow>> rows(String tenantId, String month);

  default CompletionStage<UsageReport> usage(String tenantId, String month) {
    return rows(tenantId, month).thenApply(rows -> UsageReport.of(tenantId, month, rows));
  }
}
