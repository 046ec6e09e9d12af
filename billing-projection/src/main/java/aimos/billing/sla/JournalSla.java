package aimos.billing.sla;

import aimos.billing.invoice.Invoices;
import aimos.billing.ledger.SequenceRange;
import aimos.tenant.TenantEntity;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * A tenant-month's SLA read from its journal, the durable record of every answered request: only the month's events,
 * between the first and last sequence numbers the usage rollups hold for it, so the read does not grow with the
 * tenant's history. The same events on every read give the same credit, whatever reruns or node failures happen;
 * the invoice that carries it is finalized once, and {@code sla.credit_issued} has one id per tenant-month.
 */
public final class JournalSla implements Invoices.SlaCredits {
  private final ClassicActorSystemProvider system;
  private final BiFunction<String, String, CompletionStage<Optional<SequenceRange>>> monthRange;

  public JournalSla(ClassicActorSystemProvider system,
                    BiFunction<String, String, CompletionStage<Optional<SequenceRange>>> monthRange) {
    this.system = system;
    this.monthRange = monthRange;
  }

  public CompletionStage<SlaCredit.Evidence> evidence(String tenantId, String month) {
    return monthRange.apply(tenantId, month).thenCompose(range -> {
      SlaCredit sla = new SlaCredit(tenantId, month);
      if (range.isEmpty()) {
        return CompletableFuture.completedFuture(sla.evidence());
      }
      CassandraReadJournal journal = PersistenceQuery.get(system.classicSystem())
          .getReadJournalFor(CassandraReadJournal.class, CassandraReadJournal.Identifier());
      return journal.currentEventsByPersistenceId(TenantEntity.persistenceIdOf(tenantId), range.get().first(),
              range.get().last())
          .runWith(Sink.fold(sla, (s, env) -> env.event() instanceof TenantEntity.UsageRecorded e ? s.add(e) : s),
              system)
          .thenApply(SlaCredit::evidence);
    });
  }

  @Override
  public CompletionStage<Long> creditMicros(String tenantId, String month) {
    return evidence(tenantId, month).thenApply(SlaCredit.Evidence::creditMicros);
  }
}
