package aimos.billing.invoice;

import aimos.billing.rollup.TenantMonth;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The automatic close of billing months: every tenant-month with usage whose month and grace period have ended and
 * that has no invoice gets its draft computed (or refreshed) and finalized, through the same calls as the admin API
 * ({@link Invoices#draft}, {@link Invoices#finalizeDraft}), so numbering, the {@code invoice.finalized} event and the
 * refusals are the same. A month whose reconciliation is not clean stays a draft and is reported; the next run tries
 * again. A month with a void invoice and no finalized one is left to an operator (voiding is a decision to re-invoice
 * by hand). Runs may overlap (two nodes, a run after a crash): finalizing is once per tenant-month and gapless, and a
 * run that loses the race reports the month as finalized by another.
 */
public final class InvoiceClose {
  /** What happened to one tenant-month in a run. */
  public enum Result {
    /** finalized by this run */
    FINALIZED,
    /** finalized meanwhile by another run or an operator */
    ALREADY_FINALIZED,
    /** the tenant's journal does not reconcile with its ledger and rollups: not finalized */
    UNRECONCILED,
    /** refused for another reason (for example the ledger and the rollups disagree on the charge) */
    REFUSED,
    /** an error (store unavailable, timeout): tried again next run */
    FAILED
  }

  public record Attempt(String tenantId, String month, Result result, String number, String message,
                        Map<String, Object> details) {
    public Attempt {
      details = details == null ? Map.of() : Map.copyOf(details);
    }
  }

  /**
   * One run: when it considered months closed ({@code asOf}), how many tenant-months with usage were closed, how many of
   * those had a finalized invoice already or a void one only, and what it did with each of the rest.
   */
  public record Outcome(Instant asOf, int closedMonths, int invoiced, List<TenantMonth> voided,
                        List<Attempt> attempts) {
    public long count(Result r) {
      return attempts.stream().filter(a -> a.result() == r).count();
    }

    /** Closed tenant-months with usage that are still without a finalized invoice after this run (voided ones apart). */
    public List<Attempt> awaiting() {
      return attempts.stream().filter(a -> a.result() != Result.FINALIZED && a.result() != Result.ALREADY_FINALIZED)
          .toList();
    }
  }

  /** What a run does with a closed tenant-month, given the statuses of its invoice rows. */
  enum Decision { CLOSE, INVOICED, VOIDED }

  private final ClassicActorSystemProvider system;
  private final Invoices invoices;
  private final InvoiceStore store;
  private final Supplier<Source<TenantMonth, NotUsed>> usageMonths;

  /** @param usageMonths every tenant-month with usage (each at least once) */
  public InvoiceClose(ClassicActorSystemProvider system, Invoices invoices, InvoiceStore store,
                      Supplier<Source<TenantMonth, NotUsed>> usageMonths) {
    this.system = system;
    this.invoices = invoices;
    this.store = store;
    this.usageMonths = usageMonths;
  }

  /** Whether {@code month} and its grace period have ended at {@code now}. */
  public static boolean closed(String month, Instant now, Duration grace) {
    return !now.isBefore(Invoices.monthEnd(month).plus(grace));
  }

  /** The closed months with usage, by tenant, both in order. */
  static SortedMap<String, SortedSet<String>> closedByTenant(Collection<TenantMonth> usage, Instant now,
                                                             Duration grace) {
    SortedMap<String, SortedSet<String>> out = new TreeMap<>();
    for (TenantMonth tm : usage) {
      if (closed(tm.month(), now, grace)) {
        out.computeIfAbsent(tm.tenantId(), t -> new TreeSet<>()).add(tm.month());
      }
    }
    return out;
  }

  static Decision decide(Set<String> statuses) {
    if (statuses.contains(Invoice.FINALIZED)) {
      return Decision.INVOICED;
    }
    return statuses.contains(Invoice.VOID) ? Decision.VOIDED : Decision.CLOSE;
  }

  /** The attempt a refusal of {@link Invoices#finalizeDraft} stands for: reconciliation counts, or another refusal. */
  static Attempt refusal(String tenantId, String month, InvoiceException e) {
    boolean unreconciled = e.details().containsKey("missing") && e.details().containsKey("billedTwice");
    return new Attempt(tenantId, month, unreconciled ? Result.UNRECONCILED : Result.REFUSED, null, e.getMessage(),
        e.details());
  }

  /** Closes every closed tenant-month with usage that has no invoice, as of {@code now}, one after the other. */
  public CompletionStage<Outcome> run(Instant now) {
    Duration grace = invoices.grace();
    return usageMonths.get()
        .filter(tm -> closed(tm.month(), now, grace))
        .runWith(Sink.seq(), system)
        .thenCompose(usage -> {
          SortedMap<String, SortedSet<String>> byTenant = closedByTenant(usage, now, grace);
          int closedMonths = byTenant.values().stream().mapToInt(Set::size).sum();
          List<Attempt> attempts = new ArrayList<>();
          List<TenantMonth> voided = new ArrayList<>();
          int[] invoiced = {0};
          CompletionStage<Void> chain = CompletableFuture.completedFuture(null);
          for (Map.Entry<String, SortedSet<String>> e : byTenant.entrySet()) {
            String tenantId = e.getKey();
            chain = chain.thenCompose(v -> store.statuses(tenantId)).thenCompose(statuses -> {
              CompletionStage<Void> months = CompletableFuture.completedFuture(null);
              for (String month : e.getValue()) {
                switch (decide(statuses.getOrDefault(month, Set.of()))) {
                  case INVOICED -> invoiced[0]++;
                  case VOIDED -> voided.add(new TenantMonth(tenantId, month));
                  case CLOSE -> months = months.thenCompose(v -> close(tenantId, month)).thenAccept(attempts::add);
                }
              }
              return months;
            });
          }
          return chain.thenApply(v -> new Outcome(now, closedMonths, invoiced[0], List.copyOf(voided),
              List.copyOf(attempts)));
        });
  }

  /** Drafts and finalizes one tenant-month; never fails: what went wrong is in the attempt. */
  CompletionStage<Attempt> close(String tenantId, String month) {
    CompletionStage<Invoice> finalized;
    try {
      finalized = invoices.draft(tenantId, month)
          .thenCompose(draft -> invoices.finalizeDraft(draft.id(), true));
    } catch (RuntimeException e) {
      finalized = CompletableFuture.failedFuture(e);
    }
    return finalized.handle((inv, err) -> inv != null
            ? CompletableFuture.completedFuture(new Attempt(tenantId, month, Result.FINALIZED, inv.number(), null, null))
            : explain(tenantId, month, unwrap(err)))
        .thenCompose(s -> s);
  }

  /** A failed close: finalized by someone else after all, refused, or failed. */
  private CompletionStage<Attempt> explain(String tenantId, String month, Throwable err) {
    return store.month(tenantId, month).handle((rows, readErr) -> {
      Optional<Invoice> fin = rows == null ? Optional.empty()
          : rows.stream().filter(i -> Invoice.FINALIZED.equals(i.status())).findFirst();
      if (fin.isPresent()) {
        return new Attempt(tenantId, month, Result.ALREADY_FINALIZED, fin.get().number(), null, null);
      }
      if (err instanceof InvoiceException ie) {
        return refusal(tenantId, month, ie);
      }
      Map<String, Object> details = new LinkedHashMap<>();
      details.put("error", err.getClass().getSimpleName());
      return new Attempt(tenantId, month, Result.FAILED, null, String.valueOf(err.getMessage()), details);
    });
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
