package aimos.billing.reconciliation;

import aimos.billing.ledger.LedgerRepository;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.TenantEntity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Compares each tenant's journal (the truth: every acknowledged usage event) with the billing ledger, which the
 * projection fills from eventsByTag and which can therefore miss an event delayed past the query's consistency
 * delay. Missing or wrongly priced rows are repaired by writing the row the event must produce (idempotent); rows
 * without an event, and request ids billed twice, are flagged, never deleted.
 */
public final class Reconciler {
  private final ActorSystem<?> system;
  private final LedgerRepository ledger;
  private final PriceCatalog catalog;
  private final Duration grace;

  /** @param grace events younger than this are not yet expected in the ledger */
  public Reconciler(ActorSystem<?> system, LedgerRepository ledger, PriceCatalog catalog, Duration grace) {
    this.system = system;
    this.ledger = ledger;
    this.catalog = catalog;
    this.grace = grace;
  }

  /** Reports list at most this many examples of each finding; the counts are complete. */
  public static final int EXAMPLES = 100;

  /**
   * What one tenant's check found, and how many rows it wrote: counts, with up to {@value #EXAMPLES} sequence
   * numbers or request ids of each kind.
   */
  public record Report(String tenantId, long usageEvents, long ledgerRows, int missingCount, int mispricedCount,
                       int withoutEventCount, int billedTwiceCount, List<Long> missing, List<Long> mispriced,
                       List<Long> withoutEvent, List<String> billedTwice, int repaired) {
    public boolean clean() {
      return missingCount == 0 && mispricedCount == 0 && withoutEventCount == 0 && billedTwiceCount == 0;
    }
  }

  private static <T> List<T> examples(List<T> all) {
    return all.size() <= EXAMPLES ? all : List.copyOf(all.subList(0, EXAMPLES));
  }

  private CassandraReadJournal journal() {
    return PersistenceQuery.get(system.classicSystem())
        .getReadJournalFor(CassandraReadJournal.class, CassandraReadJournal.Identifier());
  }

  /** Every tenant that has a journal. */
  public CompletionStage<List<String>> tenants() {
    String prefix = TenantEntity.ENTITY_KEY.name() + "|";
    return journal().currentPersistenceIds()
        .filter(id -> id.startsWith(prefix))
        .map(id -> id.substring(prefix.length()))
        .runWith(Sink.seq(), system);
  }

  public CompletionStage<List<Report>> reconcileAll(boolean repair) {
    return tenants().thenCompose(ids -> {
      CompletionStage<List<Report>> chain = CompletableFuture.completedFuture(new ArrayList<>());
      for (String id : new TreeSet<>(ids)) {
        chain = chain.thenCompose(done -> reconcile(id, repair).thenApply(r -> {
          done.add(r);
          return done;
        }));
      }
      return chain;
    });
  }

  public CompletionStage<Report> reconcile(String tenantId, boolean repair) {
    String pid = TenantEntity.persistenceIdOf(tenantId);
    long newest = System.currentTimeMillis() - grace.toMillis();
    return journal().currentEventsByPersistenceId(pid, 0L, Long.MAX_VALUE)
        .filter(env -> env.event() instanceof TenantEntity.UsageRecorded)
        .runWith(Sink.seq(), system)
        .thenCompose(envelopes -> {
          Map<Long, LedgerRow> expected = new HashMap<>();
          TreeSet<String> months = new TreeSet<>();
          for (EventEnvelope env : envelopes) {
            var e = (TenantEntity.UsageRecorded) env.event();
            if (e.recordedAtMillis() <= newest) {
              expected.put(env.sequenceNr(), LedgerRow.priced(pid, env.sequenceNr(), e, catalog));
            }
            months.add(e.month());
          }
          List<CompletableFuture<List<LedgerRow>>> reads = months.stream()
              .map(m -> ledger.rows(tenantId, m).toCompletableFuture()).toList();
          return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(v -> {
            List<LedgerRow> rows = new ArrayList<>();
            reads.forEach(r -> rows.addAll(r.join()));
            return compare(tenantId, pid, envelopes.size(), expected, rows, repair);
          });
        });
  }

  private CompletionStage<Report> compare(String tenantId, String pid, long events, Map<Long, LedgerRow> expected,
                                          List<LedgerRow> rows, boolean repair) {
    Map<Long, LedgerRow> actual = new HashMap<>();
    Map<String, Integer> perRequest = new HashMap<>();
    List<Long> withoutEvent = new ArrayList<>();
    for (LedgerRow r : rows) {
      if (!r.persistenceId().equals(pid)) {
        continue;
      }
      actual.put(r.sequenceNr(), r);
      perRequest.merge(r.requestId(), 1, Integer::sum);
      if (!expected.containsKey(r.sequenceNr()) && r.recordedAtMillis() <= System.currentTimeMillis() - grace.toMillis()) {
        withoutEvent.add(r.sequenceNr());
      }
    }
    List<Long> missing = new ArrayList<>();
    List<Long> mispriced = new ArrayList<>();
    List<LedgerRow> toWrite = new ArrayList<>();
    expected.forEach((seq, row) -> {
      LedgerRow have = actual.get(seq);
      if (have == null) {
        missing.add(seq);
        toWrite.add(row);
      } else if (!have.equals(row)) {
        mispriced.add(seq);
        toWrite.add(row);
      }
    });
    List<String> billedTwice = perRequest.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey)
        .sorted().toList();
    missing.sort(null);
    mispriced.sort(null);
    withoutEvent.sort(null);
    Report report = new Report(tenantId, events, actual.size(), missing.size(), mispriced.size(), withoutEvent.size(),
        billedTwice.size(), examples(missing), examples(mispriced), examples(withoutEvent), examples(billedTwice),
        repair ? toWrite.size() : 0);
    if (!repair || toWrite.isEmpty()) {
      return CompletableFuture.completedFuture(report);
    }
    return ledger.upsertAll(toWrite).thenApply(done -> report);
  }
}
