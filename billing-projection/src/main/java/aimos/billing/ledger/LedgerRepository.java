package aimos.billing.ledger;

import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** Where priced usage lives. Writes are idempotent by (persistenceId, sequenceNr). */
public interface LedgerRepository {
  CompletionStage<Done> upsert(LedgerRow row);

  CompletionStage<List<LedgerRow>> rows(String tenantId, String month);

  default CompletionStage<UsageReport> usage(String tenantId, String month) {
    return rows(tenantId, month).thenApply(rows -> UsageReport.of(tenantId, month, rows));
  }
}
