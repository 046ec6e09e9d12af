package aimos.billing.reconciliation;

import aimos.billing.ledger.LedgerPage;
import aimos.billing.ledger.LedgerRepository;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.ledger.SequenceRange;
import aimos.billing.rollup.RollupCheck;
import aimos.billing.rollup.RollupRepository;
import aimos.billing.rollup.SequencedUsage;
import aimos.billing.rollup.UsageQueries;
import aimos.tenant.TenantEntity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Compares each tenant's journal (the truth: every acknowledged usage event) with the billing ledger and the usage
 * rollups, which the billing feed fills and which can still lose or hold wrong rows (a restore from an older backup,
 * usage an earlier version's tag query passed by, a manual change). Missing or wrong ledger rows are repaired by writing the row the event must produce
 * (idempotent; its charge is the event's); rows without an event, and request ids billed twice within the
 * tenant's dedup window ({@link DoubleCharges}), are flagged, never deleted. Wrong rollup rows are rewritten with
 * the sums the journal implies (see {@link RollupCheck}). The ledger is read a page at a time.
 */
public final class Reconciler {
  private static final int PAGE = LedgerRepository.MAX_PAGE;

  private final ActorSystem<?> system;
  private final LedgerRepository ledger;
  private final UsageQueries usage;
  private final RollupCheck rollupCheck;
  private final Duration grace;

  /** @param grace events younger than this are not yet expected in the ledger and the rollups */
  public Reconciler(ActorSystem<?> system, LedgerRepository ledger, RollupRepository rollups, Duration grace) {
    this.system = system;
    this.ledger = ledger;
    this.usage = new UsageQueries(rollups);
    this.rollupCheck = new RollupCheck(rollups);
    this.grace = grace;
  }

  /** Reports list at most this many examples of each finding; the counts are complete. */
  public static final int EXAMPLES = 100;

  /**
   * What one tenant's check found, and how many rows it wrote: counts, with up to {@value #EXAMPLES} sequence
   * numbers, request ids or rollup rows of each kind. {@code mispriced} rows differ from their event in any field.
   */
  public record Report(String tenantId, long usageEvents, long ledgerRows, int missingCount, int mispricedCount,
                       int withoutEventCount, int billedTwiceCount, List<Long> missing, List<Long> mispriced,
                       List<Long> withoutEvent, List<String> billedTwice, int repaired, int rollupsChecked,
                       int rollupsWrong, int rollupsRepaired, List<String> wrongRollups) {
    public boolean clean() {
      return missingCount == 0 && mispricedCount == 0 && withoutEventCount == 0 && billedTwiceCount == 0
          && rollupsWrong == 0;
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

  /** What the journal says: its usage events, the highest sequence number read, and each month's range. */
  private record JournalView(List<SequencedUsage> usage, long highestSequenceNr, Map<String, SequenceRange> months) {}

  private CompletionStage<JournalView> readJournal(String pid) {
    return journal().currentEventsByPersistenceId(pid, 0L, Long.MAX_VALUE)
        .runWith(Sink.seq(), system)
        .thenApply(envelopes -> {
          List<SequencedUsage> usage = new ArrayList<>();
          Map<String, SequenceRange> months = new TreeMap<>();
          long highest = 0;
          for (EventEnvelope env : envelopes) {
            highest = Math.max(highest, env.sequenceNr());
            if (env.event() instanceof TenantEntity.UsageRecorded e) {
              usage.add(new SequencedUsage(env.sequenceNr(), e));
              months.merge(e.month(), new SequenceRange(env.sequenceNr(), env.sequenceNr()), SequenceRange::union);
            }
          }
          return new JournalView(usage, highest, months);
        });
  }

  public CompletionStage<Report> reconcile(String tenantId, boolean repair) {
    String pid = TenantEntity.persistenceIdOf(tenantId);
    long cutoff = System.currentTimeMillis() - grace.toMillis();
    return readJournal(pid).thenCompose(view -> {
      Map<Long, LedgerRow> expected = new HashMap<>();
      for (SequencedUsage u : view.usage()) {
        if (u.event().recordedAtMillis() <= cutoff) {
          expected.put(u.sequenceNr(), LedgerRow.recorded(pid, u.sequenceNr(), u.event()));
        }
      }
      LedgerComparison ledgerCheck = new LedgerComparison(pid, expected, cutoff);
      CompletionStage<Void> months = CompletableFuture.completedFuture(null);
      for (Map.Entry<String, SequenceRange> month : view.months().entrySet()) {
        months = months.thenCompose(v -> compareMonth(tenantId, month.getKey(), month.getValue(), ledgerCheck));
      }
      return months
          .thenCompose(v -> rollupCheck.check(tenantId, view.usage(), view.highestSequenceNr(), cutoff, repair))
          .thenCompose(rollups -> ledgerCheck.finish(repair).thenApply(found -> new Report(tenantId,
              view.usage().size(), found.rows, found.missing.size(), found.mispriced.size(),
              found.withoutEvent.size(), found.billedTwice.size(), examples(found.missing),
              examples(found.mispriced), examples(found.withoutEvent), examples(found.billedTwice), found.repaired,
              rollups.checked(), rollups.wrong(), rollups.repaired(), rollups.examples())));
    });
  }

  /**
   * Walks the month's ledger page by page: the whole partitions that hold the journal's range for the month and the
   * rollups' (rows the journal cannot explain may lie beyond the journal's range).
   */
  private CompletionStage<Void> compareMonth(String tenantId, String month, SequenceRange journalRange,
                                             LedgerComparison check) {
    return usage.sequenceRange(tenantId, month).thenCompose(rollupRange -> {
      SequenceRange range = ledger.wholePartitions(rollupRange.map(journalRange::union).orElse(journalRange));
      return walk(tenantId, month, range, range.first(), check);
    });
  }

  private CompletionStage<Void> walk(String tenantId, String month, SequenceRange range, long from,
                                     LedgerComparison check) {
    return ledger.page(tenantId, month, range, from, PAGE).thenCompose((LedgerPage page) -> {
      page.rows().forEach(check::see);
      return page.nextSequenceNr().isPresent()
          ? walk(tenantId, month, range, page.nextSequenceNr().getAsLong(), check)
          : CompletableFuture.completedFuture(null);
    });
  }

  /** The ledger side of one tenant's check, fed a page at a time. */
  private final class LedgerComparison {
    private final String pid;
    private final Map<Long, LedgerRow> expected;
    private final long cutoff;
    private final Map<Long, Boolean> seen = new HashMap<>();
    private final DoubleCharges doubleCharges = new DoubleCharges();
    private final List<Long> withoutEvent = new ArrayList<>();
    private final List<Long> mispriced = new ArrayList<>();
    private final List<LedgerRow> toWrite = new ArrayList<>();
    private long rows;

    LedgerComparison(String pid, Map<Long, LedgerRow> expected, long cutoff) {
      this.pid = pid;
      this.expected = expected;
      this.cutoff = cutoff;
    }

    void see(LedgerRow r) {
      if (!r.persistenceId().equals(pid) || seen.put(r.sequenceNr(), Boolean.TRUE) != null) {
        return;
      }
      rows++;
      doubleCharges.see(r.requestId(), r.recordedAtMillis());
      LedgerRow want = expected.get(r.sequenceNr());
      if (want == null) {
        if (r.recordedAtMillis() <= cutoff) {
          withoutEvent.add(r.sequenceNr());
        }
      } else if (!want.equals(r)) {
        mispriced.add(r.sequenceNr());
        toWrite.add(want);
      }
    }

    record Found(long rows, List<Long> missing, List<Long> mispriced, List<Long> withoutEvent,
                 List<String> billedTwice, int repaired) {}

    CompletionStage<Found> finish(boolean repair) {
      List<Long> missing = new ArrayList<>();
      expected.forEach((seq, row) -> {
        if (!seen.containsKey(seq)) {
          missing.add(seq);
          toWrite.add(row);
        }
      });
      List<String> billedTwice = doubleCharges.requestIds();
      missing.sort(null);
      mispriced.sort(null);
      withoutEvent.sort(null);
      Found found = new Found(rows, missing, mispriced, withoutEvent, billedTwice, repair ? toWrite.size() : 0);
      if (!repair || toWrite.isEmpty()) {
        return CompletableFuture.completedFuture(found);
      }
      return ledger.upsertAll(toWrite).thenApply(done -> found);
    }
  }
}
