package aimos.node.admin;

import aimos.billing.invoice.InvoiceClose;
import aimos.billing.rollup.TenantMonth;
import aimos.node.metrics.AimosMetrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The automatic close of invoices ({@link InvoiceClose}) on this node: every {@code aimos.billing.invoice-close-interval}
 * on the cluster's oldest node, and on demand ({@code POST /admin/invoices/close}). A run asked for while one is under
 * way on this node gets that run's outcome. Each month left without an invoice is logged with a warning and counted
 * in {@code aimos_invoices_awaiting_close}.
 */
public final class InvoiceClosing {
  private static final Logger log = LoggerFactory.getLogger(InvoiceClosing.class);

  private final ActorSystem<?> system;
  private final InvoiceClose close;
  private final AimosMetrics metrics;
  private final Clock clock;
  private final AtomicReference<CompletableFuture<InvoiceClose.Outcome>> running = new AtomicReference<>();

  public InvoiceClosing(ActorSystem<?> system, InvoiceClose close, AimosMetrics metrics, Clock clock) {
    this.system = system;
    this.close = close;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** A run now, or the one under way on this node. */
  public CompletionStage<InvoiceClose.Outcome> runNow() {
    CompletableFuture<InvoiceClose.Outcome> mine = new CompletableFuture<>();
    CompletableFuture<InvoiceClose.Outcome> current = running.compareAndExchange(null, mine);
    if (current != null) {
      return current;
    }
    runAsOf(clock.instant()).whenComplete((outcome, err) -> {
      running.set(null);
      if (err != null) {
        mine.completeExceptionally(err);
      } else {
        mine.complete(outcome);
      }
    });
    return mine;
  }

  /** A run that takes months as closed or open at {@code asOf}; logged and counted like any other. */
  public CompletionStage<InvoiceClose.Outcome> runAsOf(Instant asOf) {
    CompletionStage<InvoiceClose.Outcome> run;
    try {
      run = close.run(asOf);
    } catch (RuntimeException e) {
      run = CompletableFuture.failedFuture(e);
    }
    return run.whenComplete((outcome, err) -> {
      if (err != null) {
        log.warn("Invoice close failed: {}", err.toString());
      } else {
        report(outcome);
      }
    });
  }

  private void report(InvoiceClose.Outcome outcome) {
    Map<String, Long> results = new LinkedHashMap<>();
    Map<String, Long> awaiting = new LinkedHashMap<>();
    for (InvoiceClose.Attempt a : outcome.attempts()) {
      String result = name(a.result());
      results.merge(result, 1L, Long::sum);
      switch (a.result()) {
        case FINALIZED -> log.info("Invoice close: {} of tenant {} finalized as {}", a.month(), a.tenantId(),
            a.number());
        case ALREADY_FINALIZED -> log.info("Invoice close: {} of tenant {} was finalized meanwhile as {}", a.month(),
            a.tenantId(), a.number());
        case UNRECONCILED -> log.warn("Invoice close: {} of tenant {} not finalized: its journal does not reconcile "
                + "with the ledger ({} missing, {} billed twice, {} without event, {} wrong rollup rows); tried again "
                + "next run, or repair with POST /admin/reconciliation?tenant={}&repair=true", a.month(),
            a.tenantId(), a.details().get("missing"), a.details().get("billedTwice"),
            a.details().get("withoutEvent"), a.details().get("rollupsWrong"), a.tenantId());
        default -> log.warn("Invoice close: {} of tenant {} not finalized ({}): {}; tried again next run",
            a.month(), a.tenantId(), result, a.message());
      }
      if (a.result() != InvoiceClose.Result.FINALIZED && a.result() != InvoiceClose.Result.ALREADY_FINALIZED) {
        awaiting.merge(result, 1L, Long::sum);
      }
    }
    for (TenantMonth v : outcome.voided()) {
      log.info("Invoice close: {} of tenant {} has a void invoice and no finalized one; left to an operator",
          v.month(), v.tenantId());
    }
    awaiting.put("voided", (long) outcome.voided().size());
    metrics.invoiceClose(results, awaiting);
    if (outcome.attempts().isEmpty() && outcome.voided().isEmpty()) {
      log.debug("Invoice close as of {}: {} closed tenant-months with usage, all invoiced", outcome.asOf(),
          outcome.closedMonths());
      return;
    }
    log.info("Invoice close as of {}: {} closed tenant-months with usage, {} invoiced before, {} finalized now, {} "
        + "awaiting", outcome.asOf(), outcome.closedMonths(), outcome.invoiced(),
        outcome.count(InvoiceClose.Result.FINALIZED), outcome.awaiting().size());
  }

  static String name(InvoiceClose.Result r) {
    return r.name().toLowerCase(Locale.ROOT);
  }

  /** A run's outcome as the admin API answers it. */
  public static Map<String, Object> summary(InvoiceClose.Outcome o) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("asOf", o.asOf().toString());
    m.put("closedMonths", o.closedMonths());
    m.put("invoiced", o.invoiced());
    m.put("finalized", o.count(InvoiceClose.Result.FINALIZED));
    m.put("awaiting", o.awaiting().size());
    m.put("attempts", o.attempts().stream().map(a -> {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("tenantId", a.tenantId());
      x.put("month", a.month());
      x.put("result", name(a.result()));
      if (a.number() != null) {
        x.put("number", a.number());
      }
      if (a.message() != null) {
        x.put("message", a.message());
      }
      if (!a.details().isEmpty()) {
        x.put("details", a.details());
      }
      return x;
    }).toList());
    m.put("voided", o.voided().stream().map(v -> Map.of("tenantId", v.tenantId(), "month", v.month())).toList());
    return m;
  }

  /** Every {@code interval} (0: never), the cluster's oldest node runs the close. */
  public void schedule(Duration interval) {
    if (interval.isZero()) {
      return;
    }
    if (interval.isNegative()) {
      throw new IllegalArgumentException("aimos.billing.invoice-close-interval cannot be negative");
    }
    system.scheduler().scheduleWithFixedDelay(interval, interval, () -> {
      if (Reconciliation.isOldest(system)) {
        runNow();
      }
    }, system.executionContext());
  }
}
