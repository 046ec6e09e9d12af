package aimos.billing.rollup;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** Where rollup rows live. Every write and delete is conditional on the revision the writer read. */
public interface RollupRepository {
  CompletionStage<Optional<RollupRow>> read(RollupKey key);

  /**
   * Stores the row's sums and sequence numbers with revision {@code expectedRevision + 1}, if the stored row still
   * has {@code expectedRevision} (0: if no row is stored). Completes with whether it was written.
   */
  CompletionStage<Boolean> write(RollupRow row, long expectedRevision);

  /** Deletes the row if it still has {@code expectedRevision}. */
  CompletionStage<Boolean> delete(RollupKey key, long expectedRevision);

  /** The day rows of a tenant's month (at most 31 x models x versions). */
  CompletionStage<List<RollupRow>> days(String tenantId, String month);

  /** The hour rows of a tenant's day (at most 24 x models x versions). */
  CompletionStage<List<RollupRow>> hours(String tenantId, String day);
}
