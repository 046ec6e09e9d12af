package aimos.billing.invoice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.billing.BillingStore;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.notify.BillingEvent;
import aimos.billing.notify.BillingEvents;
import aimos.billing.rollup.CassandraRollupRepository;
import aimos.billing.rollup.Grain;
import aimos.billing.rollup.RollupKey;
import aimos.billing.rollup.RollupRow;
import aimos.billing.rollup.TenantMonth;
import aimos.billing.rollup.UsageTotals;
import aimos.tenant.Units;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The automatic close against a real Cassandra: which months it closes (usage, month end plus grace, existing
 * invoices), exactly one invoice and one event per tenant-month also when runs overlap or repeat, and a month whose
 * reconciliation is not clean left as a draft until it is.
 */
class InvoiceCloseTest {
  private static final Duration GRACE = Duration.ofDays(3);

  private BillingStore billing;
  private InvoiceStore store;
  private CassandraRollupRepository rollups;
  private final Map<String, List<LedgerRow>> usage = new ConcurrentHashMap<>();
  private final Map<String, Invoices.ReconcileCounts> reconcile = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<BillingEvent> published = new ConcurrentLinkedQueue<>();
  private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-05T10:00:00Z"));

  @BeforeEach
  void start() {
    billing = new BillingStore("invoiceclose");
    InvoiceStore.createTables(billing.session, billing.keyspace).toCompletableFuture().join();
    store = new InvoiceStore(billing.session, billing.keyspace);
    rollups = billing.rollups();
  }

  @AfterEach
  void stop() {
    billing.close();
  }

  private Invoices invoices() {
    Invoices.MonthUsage month = new Invoices.MonthUsage() {
      @Override
      public Source<LedgerRow, NotUsed> rows(String tenantId, String m) {
        return Source.from(usage.getOrDefault(tenantId + "/" + m, List.of()));
      }

      @Override
      public CompletionStage<Long> rollupChargeMicros(String tenantId, String m) {
        return CompletableFuture.completedFuture(usage.getOrDefault(tenantId + "/" + m, List.of()).stream()
            .mapToLong(LedgerRow::chargeMicros).sum());
      }
    };
    BillingEvents events = e -> {
      published.add(e);
      return CompletableFuture.completedFuture(Done.getInstance());
    };
    Clock clock = new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return now.get();
      }
    };
    return new Invoices(billing.testKit.system(), store, month, (t, m) -> CompletableFuture.completedFuture(
        reconcile.getOrDefault(t, new Invoices.ReconcileCounts(0, 0, 0, 0))), Invoices.SlaCredits.NONE, events,
        clock, GRACE);
  }

  private InvoiceClose close(Invoices invoices) {
    return new InvoiceClose(billing.testKit.system(), invoices, store, rollups::tenantMonths);
  }

  /** Two billed requests of a tenant-month: ledger rows for the invoice, a rollup row that says the month has usage. */
  private void used(String tenant, String month) {
    List<LedgerRow> rows = new ArrayList<>();
    long charge = 0;
    for (long seq = 1; seq <= 2; seq++) {
      Units u = Units.tokens(1000 * seq, 500);
      long c = 20_000 * (1000 * seq + 500) / 1000;
      rows.add(new LedgerRow(tenant, month, "Tenant|" + tenant, seq, "req-" + tenant + "-" + month + "-" + seq,
          "chat", "v1", BillingUnit.TOKENS, 20_000, u, 0, c,
          Instant.parse(month + "-02T00:00:00Z").toEpochMilli() + seq));
      charge += c;
    }
    usage.put(tenant + "/" + month, rows);
    RollupRow day = new RollupRow(new RollupKey(Grain.DAY, tenant, month, month + "-02", "chat", "v1"),
        new UsageTotals(2, 3000, 1000, 0, 0, charge, 0), 1, 2, 0);
    assertTrue(join(rollups.write(day, 0)));
  }

  private static <T> T join(CompletionStage<T> stage) {
    return stage.toCompletableFuture().join();
  }

  private Set<String> numbers() {
    Set<String> out = new TreeSet<>();
    for (String key : usage.keySet()) {
      String[] tm = key.split("/");
      join(store.month(tm[0], tm[1])).stream().filter(i -> i.number() != null).forEach(i -> out.add(i.number()));
    }
    return out;
  }

  @Test
  void closedMonthsAreTheOnesWhoseGracePeriodHasEnded() {
    Instant end = Instant.parse("2026-12-01T00:00:00Z");
    assertFalse(InvoiceClose.closed("2026-11", end, GRACE));
    assertFalse(InvoiceClose.closed("2026-11", end.plus(GRACE).minusMillis(1), GRACE));
    assertTrue(InvoiceClose.closed("2026-11", end.plus(GRACE), GRACE));
    assertTrue(InvoiceClose.closed("2026-11", end, Duration.ZERO));
    assertFalse(InvoiceClose.closed("2026-12", end, Duration.ZERO));
    var byTenant = InvoiceClose.closedByTenant(List.of(new TenantMonth("b", "2026-10"), new TenantMonth("a", "2026-11"),
        new TenantMonth("a", "2026-09"), new TenantMonth("a", "2026-12"), new TenantMonth("a", "2026-11")),
        end.plus(GRACE), GRACE);
    assertEquals("{a=[2026-09, 2026-11], b=[2026-10]}", byTenant.toString());
    assertEquals(InvoiceClose.Decision.CLOSE, InvoiceClose.decide(Set.of()));
    assertEquals(InvoiceClose.Decision.CLOSE, InvoiceClose.decide(Set.of(Invoice.DRAFT)));
    assertEquals(InvoiceClose.Decision.INVOICED, InvoiceClose.decide(Set.of(Invoice.DRAFT, Invoice.FINALIZED)));
    assertEquals(InvoiceClose.Decision.INVOICED, InvoiceClose.decide(Set.of(Invoice.VOID, Invoice.FINALIZED)));
    assertEquals(InvoiceClose.Decision.VOIDED, InvoiceClose.decide(Set.of(Invoice.VOID)));
    assertEquals(InvoiceClose.Decision.VOIDED, InvoiceClose.decide(Set.of(Invoice.VOID, Invoice.DRAFT)));
  }

  @Test
  void finalizesEachClosedTenantMonthOnceAndASecondRunChangesNothing() {
    used("t1", "2026-10");
    used("t1", "2026-11");
    used("t2", "2026-11");
    used("t2", "2026-12");
    Invoices inv = invoices();
    InvoiceClose job = close(inv);

    // December 2nd: November is in its grace period, October is closed
    now.set(Instant.parse("2026-12-02T00:00:00Z"));
    InvoiceClose.Outcome first = join(job.run(now.get()));
    assertEquals(1, first.closedMonths());
    assertEquals(1, first.count(InvoiceClose.Result.FINALIZED), first.toString());
    assertEquals("t1", first.attempts().get(0).tenantId());
    assertEquals("2026-10", first.attempts().get(0).month());

    // after the grace period: both Novembers; December is open
    now.set(Instant.parse("2026-12-04T00:00:00Z"));
    InvoiceClose.Outcome second = join(job.run(now.get()));
    assertEquals(3, second.closedMonths(), second.toString());
    assertEquals(1, second.invoiced());
    assertEquals(2, second.count(InvoiceClose.Result.FINALIZED), second.toString());
    assertEquals(List.of(), second.awaiting());
    assertEquals(Set.of("AIMOS-2026-000001", "AIMOS-2026-000002", "AIMOS-2026-000003"), numbers());
    Invoice t2 = join(store.month("t2", "2026-11")).stream().filter(i -> Invoice.FINALIZED.equals(i.status()))
        .findFirst().orElseThrow();
    assertEquals(2, t2.requests());
    assertEquals(usage.get("t2/2026-11").stream().mapToLong(LedgerRow::chargeMicros).sum(), t2.totalMicros());

    InvoiceClose.Outcome third = join(job.run(now.get()));
    assertEquals(3, third.invoiced());
    assertEquals(List.of(), third.attempts());
    assertEquals(3, numbers().size());
    assertEquals(3, published.size(), published.toString());
    assertEquals(published.stream().map(BillingEvent::id).distinct().count(), published.size());
  }

  @Test
  void overlappingRunsOnTwoInstancesFinalizeOncePerTenantMonthWithoutGaps() {
    for (int i = 0; i < 8; i++) {
      used("c" + i, "2026-11");
    }
    InvoiceClose a = close(invoices());
    InvoiceClose b = close(invoices());
    now.set(Instant.parse("2026-12-10T00:00:00Z"));
    var ra = a.run(now.get()).toCompletableFuture();
    var rb = b.run(now.get()).toCompletableFuture();
    InvoiceClose.Outcome oa = ra.join();
    InvoiceClose.Outcome ob = rb.join();
    long finalized = oa.count(InvoiceClose.Result.FINALIZED) + ob.count(InvoiceClose.Result.FINALIZED);
    assertEquals(8, finalized, oa + "\n" + ob);
    assertEquals(List.of(), oa.awaiting(), oa.toString());
    assertEquals(List.of(), ob.awaiting(), ob.toString());
    Set<String> expected = new TreeSet<>();
    for (int i = 1; i <= 8; i++) {
      expected.add(String.format("AIMOS-2026-%06d", i));
    }
    assertEquals(expected, numbers());
    // both runs may complete the same number: they publish the same event id, which the outbox stores once
    Set<String> ids = new TreeSet<>();
    published.forEach(e -> ids.add(e.id()));
    Set<String> expectedIds = new TreeSet<>();
    expected.forEach(n -> expectedIds.add(BillingEvent.INVOICE_FINALIZED + ":" + n));
    assertEquals(expectedIds, ids);
  }

  @Test
  void aMonthThatDoesNotReconcileStaysADraftUntilItDoes() {
    used("clean", "2026-11");
    used("gappy", "2026-11");
    reconcile.put("gappy", new Invoices.ReconcileCounts(1, 0, 0, 0));
    InvoiceClose job = close(invoices());
    now.set(Instant.parse("2026-12-10T00:00:00Z"));

    InvoiceClose.Outcome first = join(job.run(now.get()));
    assertEquals(1, first.count(InvoiceClose.Result.FINALIZED), first.toString());
    assertEquals(1, first.awaiting().size(), first.toString());
    InvoiceClose.Attempt refused = first.awaiting().get(0);
    assertEquals(InvoiceClose.Result.UNRECONCILED, refused.result());
    assertEquals("gappy", refused.tenantId());
    assertEquals("2026-11", refused.month());
    assertEquals(1L, ((Number) refused.details().get("missing")).longValue());
    List<Invoice> gappy = join(store.month("gappy", "2026-11"));
    assertEquals(List.of(Invoice.DRAFT), gappy.stream().map(Invoice::status).toList(), "the draft is computed");
    assertEquals(1, published.size());

    // the same again while it still does not reconcile
    assertEquals(InvoiceClose.Result.UNRECONCILED, join(job.run(now.get())).awaiting().get(0).result());

    reconcile.remove("gappy");
    InvoiceClose.Outcome after = join(job.run(now.get()));
    assertEquals(1, after.count(InvoiceClose.Result.FINALIZED), after.toString());
    assertEquals(List.of(), after.awaiting());
    assertEquals(Set.of("AIMOS-2026-000001", "AIMOS-2026-000002"), numbers());
    assertEquals(2, published.size());
  }

  @Test
  void aVoidedMonthIsLeftToTheOperator() {
    used("v", "2026-11");
    Invoices inv = invoices();
    InvoiceClose job = close(inv);
    now.set(Instant.parse("2026-12-10T00:00:00Z"));
    String number = join(job.run(now.get())).attempts().get(0).number();
    join(inv.voidInvoice(number, "wrong plan"));
    InvoiceClose.Outcome again = join(job.run(now.get()));
    assertEquals(List.of(new TenantMonth("v", "2026-11")), again.voided());
    assertEquals(List.of(), again.attempts());
    assertEquals(Set.of(number), numbers());
  }
}
