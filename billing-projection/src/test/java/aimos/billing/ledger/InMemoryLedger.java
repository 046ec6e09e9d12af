package aimos.billing.ledger;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;

/** A ledger in a map keyed like the Cassandra table, for handler tests. */
public final class InMemoryLedger implements LedgerRepository {
  public final Map<String, LedgerRow> rows = new ConcurrentHashMap<>();
  public final AtomicInteger writes = new AtomicInteger();

  @Override
  public CompletionStage<Done> upsert(LedgerRow row) {
    writes.incrementAndGet();
    rows.put(row.persistenceId() + "#" + row.sequenceNr(), row);
    return CompletableFuture.completedFuture(Done.getInstance());
  }

  @Override
  public CompletionStage<List<LedgerRow>> rows(String tenantId, String month) {
    List<LedgerRow> out = new ArrayList<>();
    rows.values().forEach(r -> {
      if (r.tenantId().equals(tenantId) && r.month().equals(month)) {
        out.add(r);
      }
    });
    return CompletableFuture.completedFuture(out);
  }
}
