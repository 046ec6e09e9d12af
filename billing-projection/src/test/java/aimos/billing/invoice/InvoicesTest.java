package aimos.billing.invoice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import aimos.api.v1.BillingUnit;
import aimos.billing.BillingStore;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.notify.BillingEvent;
import aimos.billing.notify.BillingEvents;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.Units;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Invoices and credit notes against a real Cassandra (a keyspace of each test's own). */
class InvoicesTest {
  private static final Instant NOW = Instant.parse("2026-12-05T10:00:00Z");
  private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private BillingStore billing;
  private InvoiceStore store;
  private final Map<String, List<LedgerRow>> usage = new ConcurrentHashMap<>();
  private final Map<String, Long> rollupOverride = new ConcurrentHashMap<>();
  private final AtomicReference<Invoices.ReconcileCounts> reconcile =
      new AtomicReference<>(new Invoices.ReconcileCounts(0, 0, 0, 0));
  private final ConcurrentLinkedQueue<BillingEvent> published = new ConcurrentLinkedQueue<>();

  @BeforeEach
  void start() {
    billing = new BillingStore("invoices");
    InvoiceStore.createTables(billing.session, billing.keyspace).toCompletableFuture().join();
    store = new InvoiceStore(billing.session, billing.keyspace);
  }

  @AfterEach
  void stop() {
    billing.close();
  }

  private Invoices.SlaCredits sla = Invoices.SlaCredits.NONE;

  private Invoices invoices(Clock clock) {
    Invoices.MonthUsage month = new Invoices.MonthUsage() {
      @Override
      public Source<LedgerRow, NotUsed> rows(String tenantId, String m) {
        return Source.from(usage.getOrDefault(tenantId + "/" + m, List.of()));
      }

      @Override
      public CompletionStage<Long> rollupChargeMicros(String tenantId, String m) {
        long sum = usage.getOrDefault(tenantId + "/" + m, List.of()).stream().mapToLong(LedgerRow::chargeMicros).sum();
        return CompletableFuture.completedFuture(rollupOverride.getOrDefault(tenantId + "/" + m, sum));
      }
    };
    BillingEvents events = e -> {
      published.add(e);
      return CompletableFuture.completedFuture(Done.getInstance());
    };
    return new Invoices(billing.testKit.system(), store, month, (t, m) -> CompletableFuture.completedFuture(
        reconcile.get()), sla, events, clock, Duration.ofDays(3));
  }

  private Invoices invoices() {
    return invoices(Clock.fixed(NOW, ZoneOffset.UTC));
  }

  /** A fixed month: chat v1 tokens crossing the 1M discount threshold, vision images, speech audio. */
  private void fixedUsage(String tenant, String month) {
    PriceCatalog p = PriceCatalog.seed();
    List<LedgerRow> rows = new ArrayList<>();
    long tokens = 0;
    long seq = 0;
    for (Units u : List.of(Units.tokens(400_000, 200_000), Units.tokens(300_000, 150_000), Units.tokens(1_234, 567))) {
      rows.add(row(tenant, month, ++seq, "chat", "v1", BillingUnit.TOKENS, 20_000, u, tokens,
          p.chargeMicros(BillingUnit.TOKENS, 20_000, u, tokens)));
      tokens += u.tokens();
    }
    Units two = new Units(0, 0, 2, 0);
    rows.add(row(tenant, month, ++seq, "vision", "v2", BillingUnit.IMAGES, 10_000, two, 0,
        p.chargeMicros(BillingUnit.IMAGES, 10_000, two, 0)));
    Units audio = Units.audio(95_500);
    rows.add(row(tenant, month, ++seq, "speech", "v1", BillingUnit.AUDIO_MINUTES, 100_000, audio, 0,
        p.chargeMicros(BillingUnit.AUDIO_MINUTES, 100_000, audio, 0)));
    usage.put(tenant + "/" + month, rows);
  }

  private static LedgerRow row(String tenant, String month, long seq, String model, String version, BillingUnit unit,
                               long price, Units units, long before, long charge) {
    return new LedgerRow(tenant, month, "Tenant|" + tenant, seq, "req-" + seq, model, version, unit, price, units,
        before, charge, Instant.parse(month + "-02T00:00:00Z").toEpochMilli() + seq);
  }

  private static <T> T join(CompletionStage<T> stage) {
    return stage.toCompletableFuture().join();
  }

  private static InvoiceException refused(CompletionStage<?> stage, InvoiceException.Kind kind) {
    try {
      stage.toCompletableFuture().join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof InvoiceException ie) {
        assertEquals(kind, ie.kind(), ie.getMessage());
        return ie;
      }
      throw e;
    }
    fail("expected a " + kind + " refusal");
    return null;
  }

  private static String golden(String name) throws IOException {
    try (InputStream in = InvoicesTest.class.getResourceAsStream("/aimos/billing/invoice/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void goldenJsonAndCsvOfAFixedMonth() throws Exception {
    fixedUsage("golden", "2026-11");
    Invoices inv = invoices();
    Invoice draft = join(inv.draft("golden", "2026-11"));
    assertEquals("DRAFT-golden-2026-11", draft.id());
    Invoice fin = join(inv.finalizeDraft(draft.id(), false));
    assertEquals("AIMOS-2026-000001", fin.number());
    Invoices.View view = join(inv.get(fin.number()));
    String json = PRETTY.writeValueAsString(InvoiceDocuments.json(view)).replace("\r\n", "\n") + "\n";
    assertEquals(golden("golden-invoice.json"), json);
    assertEquals(golden("golden-invoice.csv").replace("\n", "\r\n"), InvoiceDocuments.csv(view.invoice()));
    assertEquals(InvoiceCalculator.sum(fin.lines()), fin.totalMicros());
    byte[] pdf = InvoiceDocuments.pdf(view);
    assertEquals("%PDF-", new String(pdf, 0, 5, StandardCharsets.US_ASCII));
    try (var doc = org.apache.pdfbox.Loader.loadPDF(pdf)) {
      String text = new org.apache.pdfbox.text.PDFTextStripper().getText(doc);
      assertTrue(text.contains("INVOICE AIMOS-2026-000001"), text);
      assertTrue(text.contains(InvoiceCalculator.usd(fin.totalMicros())), text);
    }
    assertEquals(List.of("invoice.finalized:AIMOS-2026-000001"), published.stream().map(BillingEvent::id).toList());
  }

  @Test
  void numbersAreGaplessAndUniqueUnderConcurrentFinalizationThroughTwoInstances() throws Exception {
    Invoices a = invoices();
    Invoices b = invoices();
    int tenants = 30;
    List<String> drafts = new ArrayList<>();
    for (int i = 0; i < tenants; i++) {
      String t = "conc-" + i;
      fixedUsage(t, "2026-11");
      drafts.add(join(a.draft(t, "2026-11")).id());
    }
    ExecutorService pool = Executors.newFixedThreadPool(12);
    List<Future<Object>> results = new ArrayList<>();
    // every draft is finalized twice at once, once through each instance
    for (int round = 0; round < 2; round++) {
      for (String id : drafts) {
        Invoices via = round == 0 ? a : b;
        results.add(pool.submit(() -> {
          try {
            return via.finalizeDraft(id, false).toCompletableFuture().join();
          } catch (CompletionException e) {
            return e.getCause();
          }
        }));
      }
    }
    Set<String> numbers = new TreeSet<>();
    int conflicts = 0;
    for (Future<Object> f : results) {
      Object r = f.get();
      if (r instanceof Invoice i) {
        assertTrue(numbers.add(i.number()), "number given twice: " + i.number());
      } else if (r instanceof InvoiceException e && e.kind() == InvoiceException.Kind.CONFLICT) {
        conflicts++;
      } else {
        throw new AssertionError("unexpected " + r, (Throwable) (r instanceof Throwable ? r : null));
      }
    }
    pool.shutdown();
    assertEquals(tenants, numbers.size());
    assertEquals(tenants, conflicts);
    Set<String> expected = new TreeSet<>();
    for (int n = 1; n <= tenants; n++) {
      expected.add(String.format("AIMOS-2026-%06d", n));
    }
    assertEquals(expected, numbers);
    for (int i = 0; i < tenants; i++) {
      List<Invoice> listed = join(a.list("conc-" + i));
      assertEquals(1, listed.size(), listed.toString());
      assertEquals(Invoice.FINALIZED, listed.get(0).status());
    }
    assertEquals(tenants, published.stream().map(BillingEvent::id).distinct().count());
  }

  /** The number carries the year of finalization; the sequence goes on across the new year, never reset. */
  @Test
  void numbersGoOnAcrossTheYearBoundary() {
    fixedUsage("december", "2026-11");
    fixedUsage("january", "2026-12");
    Invoices lastDay = invoices(Clock.fixed(Instant.parse("2026-12-31T23:59:59Z"), ZoneOffset.UTC));
    join(lastDay.draft("december", "2026-11"));
    Invoice dec = join(lastDay.finalizeDraft("DRAFT-december-2026-11", false));
    assertEquals("AIMOS-2026-000001", dec.number());
    assertEquals("AIMOS-CN-2026-000001", join(lastDay.creditNote(dec.number(), 1_000, "adjustment", "old year"))
        .number());

    Invoices newYear = invoices(Clock.fixed(Instant.parse("2027-01-04T00:00:00Z"), ZoneOffset.UTC));
    join(newYear.draft("january", "2026-12"));
    Invoice jan = join(newYear.finalizeDraft("DRAFT-january-2026-12", false));
    assertEquals("AIMOS-2027-000002", jan.number());
    assertEquals("AIMOS-CN-2027-000002", join(newYear.creditNote(dec.number(), 1_000, "adjustment", "new year"))
        .number());
    // both stay readable under their numbers
    assertEquals("december", join(newYear.get("AIMOS-2026-000001")).invoice().tenantId());
    assertEquals("january", join(newYear.get("AIMOS-2027-000002")).invoice().tenantId());
  }

  /** Usage of a month recorded during its grace period lands on its invoice: finalizing computes the month again. */
  @Test
  void usageRecordedDuringTheGracePeriodLandsOnTheInvoice() {
    fixedUsage("late", "2026-11");
    Invoices inGrace = invoices(Clock.fixed(Instant.parse("2026-12-02T08:00:00Z"), ZoneOffset.UTC));
    Invoice draft = join(inGrace.draft("late", "2026-11"));
    refused(inGrace.finalizeDraft(draft.id(), false), InvoiceException.Kind.CONFLICT);

    // a request answered on November 30th, metered after midnight (a slow write, a tenant that moved)
    List<LedgerRow> rows = new ArrayList<>(usage.get("late/2026-11"));
    Units u = Units.tokens(1_000, 500);
    long charge = PriceCatalog.seed().chargeMicros(BillingUnit.TOKENS, 20_000, u, 0);
    rows.add(new LedgerRow("late", "2026-11", "Tenant|late", rows.size() + 1, "req-late", "chat", "v1",
        BillingUnit.TOKENS, 20_000, u, 0, charge, Instant.parse("2026-11-30T23:59:59Z").toEpochMilli()));
    usage.put("late/2026-11", rows);

    Invoices afterGrace = invoices(Clock.fixed(Instant.parse("2026-12-04T00:00:00Z"), ZoneOffset.UTC));
    Invoice fin = join(afterGrace.finalizeDraft(draft.id(), false));
    assertEquals(draft.requests() + 1, fin.requests());
    assertEquals(rows.stream().mapToLong(LedgerRow::chargeMicros).sum(), fin.usageMicros() + fin.discountMicros());
    assertTrue(fin.lines().stream().mapToLong(InvoiceLine::amountMicros).sum() == fin.totalMicros());
  }

  @Test
  void aNumberTakenByANodeThatDiedIsCompletedByTheNextReaderOrTaker() {
    fixedUsage("crash", "2026-11");
    fixedUsage("after", "2026-11");
    Invoices inv = invoices();
    Invoice draft = join(inv.draft("crash", "2026-11"));
    // a node took number 1 for the draft and died before writing anything else
    String doc = InvoiceStore.write(draft.finalizedAs("AIMOS-2026-000001", NOW.toEpochMilli()));
    assertTrue(join(store.advance(Invoices.INVOICE_SERIES, 0, doc)));
    Invoices.View v = join(inv.get("AIMOS-2026-000001"));
    assertEquals(Invoice.FINALIZED, v.invoice().status());
    assertEquals("crash", v.invoice().tenantId());
    assertEquals(1, published.size());
    join(inv.draft("after", "2026-11"));
    assertEquals("AIMOS-2026-000002", join(inv.finalizeDraft("DRAFT-after-2026-11", false)).number());
    // the crashed draft is gone, its month is invoiced
    refused(inv.finalizeDraft("DRAFT-crash-2026-11", false), InvoiceException.Kind.CONFLICT);
    assertEquals(2, published.size());
  }

  @Test
  void badInputsAreRefusedPreciselyAndChangeNothing() {
    fixedUsage("bad", "2026-11");
    Invoices inv = invoices();
    refused(inv.draft("bad", "2026-13"), InvoiceException.Kind.INVALID);
    refused(inv.draft("bad", "2026-1"), InvoiceException.Kind.INVALID);
    refused(inv.draft("bad", "2027-01"), InvoiceException.Kind.INVALID);
    refused(inv.get("AIMOS-2026-000777"), InvoiceException.Kind.NOT_FOUND);
    refused(inv.get("nonsense"), InvoiceException.Kind.NOT_FOUND);
    refused(inv.finalizeDraft("DRAFT-bad-2026-11", false), InvoiceException.Kind.NOT_FOUND);
    Invoice draft = join(inv.draft("bad", "2026-11"));
    refused(inv.voidInvoice(draft.id(), null), InvoiceException.Kind.CONFLICT);
    refused(inv.creditNote(draft.id(), 1, "sla", null), InvoiceException.Kind.CONFLICT);
    // the current month is open: finalizing needs early=true
    fixedUsage("bad", "2026-12");
    Invoice dec = join(inv.draft("bad", "2026-12"));
    InvoiceException open = refused(inv.finalizeDraft(dec.id(), false), InvoiceException.Kind.CONFLICT);
    assertEquals("2027-01-04T00:00:00Z", open.details().get("openUntil"));
    // reconciliation must be clean; the ledger and the rollups must agree
    reconcile.set(new Invoices.ReconcileCounts(2, 1, 0, 0));
    InvoiceException dirty = refused(inv.finalizeDraft(draft.id(), false), InvoiceException.Kind.CONFLICT);
    assertEquals(2L, dirty.details().get("missing"));
    assertEquals(1L, dirty.details().get("billedTwice"));
    reconcile.set(new Invoices.ReconcileCounts(0, 0, 0, 0));
    rollupOverride.put("bad/2026-11", 1L);
    refused(inv.finalizeDraft(draft.id(), false), InvoiceException.Kind.CONFLICT);
    rollupOverride.clear();
    assertEquals(0, join(store.sequence(Invoices.INVOICE_SERIES)).last(), "no number was taken by a refusal");
    Invoice fin = join(inv.finalizeDraft(draft.id(), false));
    refused(inv.finalizeDraft(draft.id(), false), InvoiceException.Kind.CONFLICT);
    refused(inv.finalizeDraft(fin.number(), false), InvoiceException.Kind.CONFLICT);
    refused(inv.draft("bad", "2026-11"), InvoiceException.Kind.CONFLICT);
    refused(inv.creditNote(fin.number(), 0, "sla", null), InvoiceException.Kind.INVALID);
    refused(inv.creditNote(fin.number(), 5, "goodwill", null), InvoiceException.Kind.INVALID);
    InvoiceException over = refused(inv.creditNote(fin.number(), fin.totalMicros() + 1, "dispute", null),
        InvoiceException.Kind.CONFLICT);
    assertEquals(InvoiceCalculator.usd(fin.totalMicros()), over.details().get("remainingUsd"));
    assertEquals(0, join(store.sequence(Invoices.CREDIT_NOTE_SERIES)).last());
    assertEquals(List.of(), join(inv.creditNotes(fin.number())));
    assertEquals(1, join(store.sequence(Invoices.INVOICE_SERIES)).last());
    assertEquals(1, published.size());
  }

  @Test
  void creditNotesNeverExceedWhatIsLeftAlsoWhenIssuedAtOnce() throws Exception {
    fixedUsage("cn", "2026-11");
    Invoices a = invoices();
    Invoices b = invoices();
    join(a.draft("cn", "2026-11"));
    Invoice fin = join(a.finalizeDraft("DRAFT-cn-2026-11", false));
    long total = fin.totalMicros();
    CreditNote first = join(a.creditNote(fin.number(), total / 4, "sla", "latency in week 2"));
    assertEquals("AIMOS-CN-2026-000001", first.number());
    // eight at once, each 30% of the total: only two fit in the 75% left
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Object>> results = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      Invoices via = i % 2 == 0 ? a : b;
      results.add(pool.submit(() -> {
        try {
          return via.creditNote(fin.number(), total * 3 / 10, "adjustment", null).toCompletableFuture().join();
        } catch (CompletionException e) {
          return e.getCause();
        }
      }));
    }
    int ok = 0;
    for (Future<Object> f : results) {
      Object r = f.get();
      if (r instanceof CreditNote) {
        ok++;
      } else {
        assertTrue(r instanceof InvoiceException e && e.kind() == InvoiceException.Kind.CONFLICT, String.valueOf(r));
      }
    }
    pool.shutdown();
    assertEquals(2, ok);
    Invoices.View v = join(a.get(fin.number()));
    assertEquals(3, v.creditNotes().size());
    assertEquals(total - total / 4 - 2 * (total * 3 / 10), v.remainingMicros());
    assertEquals(List.of("AIMOS-CN-2026-000001", "AIMOS-CN-2026-000002", "AIMOS-CN-2026-000003"),
        v.creditNotes().stream().map(CreditNote::number).sorted().toList());
    join(a.creditNote(fin.number(), v.remainingMicros(), "dispute", null));
    refused(a.creditNote(fin.number(), 1, "dispute", null), InvoiceException.Kind.CONFLICT);
    // announced once per credit note: racing issuers may both publish one, under its single id, which the outbox
    // keeps once (webhook_events is written IF NOT EXISTS)
    assertEquals(List.of("credit_note.created:AIMOS-CN-2026-000001", "credit_note.created:AIMOS-CN-2026-000002",
            "credit_note.created:AIMOS-CN-2026-000003", "credit_note.created:AIMOS-CN-2026-000004"),
        published.stream().filter(e -> e.type().equals(BillingEvent.CREDIT_NOTE_CREATED)).map(BillingEvent::id)
            .distinct().sorted().toList());
  }

  @Test
  void aVoidInvoiceStaysReadableAndTheMonthCanBeInvoicedAgain() {
    fixedUsage("void", "2026-11");
    Invoices inv = invoices();
    join(inv.draft("void", "2026-11"));
    Invoice fin = join(inv.finalizeDraft("DRAFT-void-2026-11", false));
    Invoice voided = join(inv.voidInvoice(fin.number(), "wrong address"));
    assertEquals(Invoice.VOID, voided.status());
    refused(inv.voidInvoice(fin.number(), null), InvoiceException.Kind.CONFLICT);
    refused(inv.creditNote(fin.number(), 1, "sla", null), InvoiceException.Kind.CONFLICT);
    Invoices.View read = join(inv.get(fin.number()));
    assertEquals(Invoice.VOID, read.invoice().status());
    assertEquals("wrong address", read.invoice().voidReason());
    assertNotNull(read.invoice().number());
    // drafting the month again, six times at once: every call ends with one draft row
    List<CompletableFuture<Invoice>> drafts = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      drafts.add(CompletableFuture.supplyAsync(() -> join(inv.draft("void", "2026-11"))));
    }
    drafts.forEach(CompletableFuture::join);
    assertEquals(1, join(store.month("void", "2026-11")).stream().filter(i -> i.status().equals(Invoice.DRAFT))
        .count());
    Invoice again = join(inv.finalizeDraft("DRAFT-void-2026-11", false));
    assertEquals("AIMOS-2026-000002", again.number());
    List<Invoice> listed = join(inv.list("void"));
    assertEquals(List.of(fin.number(), again.number()), listed.stream().map(Invoice::number).sorted().toList());
    assertNull(join(inv.list("nobody")).stream().findFirst().orElse(null));
  }

  @Test
  void theUsageExportHasOneLinePerDayAndSumsToTheFinalizedInvoice() {
    fixedUsage("export", "2026-11");
    List<LedgerRow> rows = new ArrayList<>(usage.get("export/2026-11"));
    // two more chat requests on the next day, one more vision request the day after
    PriceCatalog p = PriceCatalog.seed();
    long before = rows.stream().filter(r -> r.unit() == BillingUnit.TOKENS).mapToLong(r -> r.units().tokens()).sum();
    for (int i = 0; i < 2; i++) {
      Units u = Units.tokens(1_000, 1_000);
      LedgerRow r = row("export", "2026-11", rows.size() + 1, "chat", "v1", BillingUnit.TOKENS, 20_000, u, before,
          p.chargeMicros(BillingUnit.TOKENS, 20_000, u, before));
      rows.add(new LedgerRow(r.tenantId(), r.month(), r.persistenceId(), r.sequenceNr(), r.requestId(), r.model(),
          r.version(), r.unit(), r.unitPriceMicros(), r.units(), r.monthTokensBefore(), r.chargeMicros(),
          Instant.parse("2026-11-03T23:59:59Z").toEpochMilli()));
      before += u.tokens();
    }
    Units one = new Units(0, 0, 1, 0);
    LedgerRow v = row("export", "2026-11", rows.size() + 1, "vision", "v2", BillingUnit.IMAGES, 10_000, one, 0,
        p.chargeMicros(BillingUnit.IMAGES, 10_000, one, 0));
    rows.add(new LedgerRow(v.tenantId(), v.month(), v.persistenceId(), v.sequenceNr(), v.requestId(), v.model(),
        v.version(), v.unit(), v.unitPriceMicros(), v.units(), v.monthTokensBefore(), v.chargeMicros(),
        Instant.parse("2026-11-04T00:00:00Z").toEpochMilli()));
    usage.put("export/2026-11", rows);
    long charged = rows.stream().mapToLong(LedgerRow::chargeMicros).sum();
    sla = (t, m) -> CompletableFuture.completedFuture(1_234L);
    Invoices inv = invoices();

    List<UsageLine> open = join(inv.usageLines("export", "2026-11").runWith(
        org.apache.pekko.stream.javadsl.Sink.seq(), billing.testKit.system()));
    assertEquals(List.of("2026-11-02 chat", "2026-11-02 speech", "2026-11-02 vision", "2026-11-03 chat",
            "2026-11-04 vision", "null null"),
        open.stream().map(l -> l.day() + " " + l.model()).toList());
    assertEquals(InvoiceLine.VOLUME_DISCOUNT, open.get(5).kind());
    assertTrue(open.get(5).amountMicros() < 0, open.toString());
    assertEquals(charged, open.stream().mapToLong(UsageLine::amountMicros).sum(), "before finalizing: the charges");
    assertEquals(2, open.get(3).requests());
    assertEquals("4.000", open.get(3).quantity());

    Invoice fin = join(inv.finalizeDraft(join(inv.draft("export", "2026-11")).id(), false));
    List<UsageLine> done = join(inv.usageLines("export", "2026-11").runWith(
        org.apache.pekko.stream.javadsl.Sink.seq(), billing.testKit.system()));
    assertEquals(InvoiceLine.SLA_CREDIT, done.get(done.size() - 1).kind());
    assertEquals(-1_234L, done.get(done.size() - 1).amountMicros());
    assertEquals(fin.totalMicros(), done.stream().mapToLong(UsageLine::amountMicros).sum());
    // per model x version x unit, the days add up to the invoice's usage lines
    for (InvoiceLine l : fin.lines()) {
      if (l.kind().equals(InvoiceLine.USAGE)) {
        assertEquals(l.amountMicros(), done.stream().filter(u -> l.model().equals(u.model())
            && l.version().equals(u.version())).mapToLong(UsageLine::amountMicros).sum(), l.toString());
      }
    }
    assertEquals(List.of(), join(inv.usageLines("export", "2026-10").runWith(
        org.apache.pekko.stream.javadsl.Sink.seq(), billing.testKit.system())));
    try {
      join(inv.usageLines("export", "2026-13").runWith(org.apache.pekko.stream.javadsl.Sink.seq(),
          billing.testKit.system()));
      fail("a bad month is refused");
    } catch (CompletionException e) {
      assertEquals("month must look like 2026-11, was '2026-13'", e.getCause().getMessage());
    }
  }
}
