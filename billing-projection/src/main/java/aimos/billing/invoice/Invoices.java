package aimos.billing.invoice;

import aimos.billing.ledger.LedgerRow;
import aimos.billing.notify.BillingEvent;
import aimos.billing.notify.BillingEvents;
import aimos.tenant.ApiKeys;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Monthly invoices and credit notes. A tenant-month's draft is computed from its billed requests (the ledger rows the
 * month's rollups point at) whenever asked, and refreshed once more at finalization, after the tenant's journal
 * reconciles with the ledger; finalizing gives it the next number of one gapless sequence, shared by every node
 * ({@code AIMOS-YYYY-NNNNNN}, never reset). Credit notes have their own sequence ({@code AIMOS-CN-YYYY-NNNNNN}).
 *
 * <p>How numbers stay gapless: a sequence row holds the last number and the document it was given to, and moves
 * only by a lightweight transaction from n to n+1. Whoever moves it first writes the previous number's document
 * where it belongs (idempotently), so a node that dies after taking a number leaves a document the next taker, or a
 * read of that number, completes.
 */
public final class Invoices {
  public static final String INVOICE_SERIES = "invoice";
  public static final String CREDIT_NOTE_SERIES = "credit_note";
  private static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");
  private static final Pattern DRAFT_ID = Pattern.compile("DRAFT-(.+)-(\\d{4}-\\d{2})");
  private static final Pattern NUMBER = Pattern.compile("AIMOS-\\d{4}-\\d{6,}");
  private static final Pattern CREDIT_NOTE_NUMBER = Pattern.compile("AIMOS-CN-\\d{4}-\\d{6,}");
  private static final int MAX_TRIES = 500;
  public static final int MAX_NOTE = 500;

  /** The reconciliation of a tenant's journal with its ledger and rollups, without repair. */
  @FunctionalInterface
  public interface ReconcileCheck {
    CompletionStage<ReconcileCounts> check(String tenantId, String month);
  }

  public record ReconcileCounts(long missing, long billedTwice, long withoutEvent, long rollupsWrong) {
    public boolean clean() {
      return missing == 0 && billedTwice == 0 && withoutEvent == 0 && rollupsWrong == 0;
    }
  }

  /** Where a month's usage comes from: its billed requests and the month's charge as the rollups sum it. */
  public interface MonthUsage {
    Source<LedgerRow, NotUsed> rows(String tenantId, String month);

    CompletionStage<Long> rollupChargeMicros(String tenantId, String month);
  }

  /** The SLA credit a tenant-month has earned, in micro-dollars (0: none). */
  @FunctionalInterface
  public interface SlaCredits {
    SlaCredits NONE = (t, m) -> CompletableFuture.completedFuture(0L);

    CompletionStage<Long> creditMicros(String tenantId, String month);
  }

  private final ClassicActorSystemProvider system;
  private final InvoiceStore store;
  private final MonthUsage usage;
  private final ReconcileCheck reconcile;
  private final SlaCredits sla;
  private final BillingEvents events;
  private final Clock clock;
  private final Duration grace;

  public Invoices(ClassicActorSystemProvider system, InvoiceStore store, MonthUsage usage, ReconcileCheck reconcile,
                  SlaCredits sla, BillingEvents events, Clock clock, Duration grace) {
    if (grace.isNegative()) {
      throw new IllegalArgumentException("invoice grace period cannot be negative");
    }
    this.system = system;
    this.store = store;
    this.usage = usage;
    this.reconcile = reconcile;
    this.sla = sla;
    this.events = events;
    this.clock = clock;
    this.grace = grace;
  }

  public Duration grace() {
    return grace;
  }

  // ---- drafts ----

  /** Computes (or recomputes) the draft of a tenant-month; refused when the month has a finalized invoice. */
  public CompletionStage<Invoice> draft(String tenantId, String month) {
    String m;
    try {
      m = month(month);
    } catch (InvoiceException e) {
      return CompletableFuture.failedFuture(e);
    }
    return draft(tenantId, m, 0);
  }

  private CompletionStage<Invoice> draft(String tenantId, String m, int tries) {
    return store.month(tenantId, m).thenCompose(existing -> {
      Optional<Invoice> fin = live(existing);
      if (fin.isPresent()) {
        throw InvoiceException.conflict(m + " of tenant " + tenantId + " is invoiced as " + fin.get().number()
            + " (finalized); void it before drafting the month again");
      }
      String current = existing.stream().filter(i -> Invoice.DRAFT.equals(i.status())).map(Invoice::draftRevision)
          .findFirst().orElse(null);
      return compute(tenantId, m, UUID.randomUUID().toString()).thenCompose(d -> store.putDraft(d, current)
          .thenCompose(written -> {
            if (written) {
              return CompletableFuture.completedFuture(d);
            }
            if (tries >= 10) {
              throw new IllegalStateException("the draft of " + m + " keeps changing; try again");
            }
            return draft(tenantId, m, tries + 1);
          }));
    });
  }

  private CompletionStage<Invoice> compute(String tenantId, String month, String revision) {
    return usage.rows(tenantId, month).runWith(Sink.fold(new InvoiceCalculator(), InvoiceCalculator::add), system)
        .thenCombine(sla.creditMicros(tenantId, month), (calc, credit) -> {
          List<InvoiceLine> lines = calc.lines(credit);
          long used = 0;
          long discount = 0;
          long slaCredit = 0;
          for (InvoiceLine l : lines) {
            switch (l.kind()) {
              case InvoiceLine.USAGE -> used += l.amountMicros();
              case InvoiceLine.VOLUME_DISCOUNT -> discount += l.amountMicros();
              default -> slaCredit += l.amountMicros();
            }
          }
          return new Invoice(Invoice.SCHEMA, Invoice.draftId(tenantId, month), null, Invoice.DRAFT, tenantId, month,
              "USD", lines, used, discount, slaCredit, InvoiceCalculator.sum(lines), calc.requests(), revision,
              clock.millis(), 0, 0, null);
        });
  }

  // ---- finalization ----

  /**
   * Finalizes the draft {@code id}: refused while the month and its grace period are open (unless {@code early}),
   * unless the tenant's journal reconciles with its ledger (0 missing, 0 billed twice), and when the ledger and the
   * rollups disagree on the month's charge.
   */
  public CompletionStage<Invoice> finalizeDraft(String id, boolean early) {
    Matcher d = DRAFT_ID.matcher(id);
    if (!d.matches()) {
      return get(id).thenApply(inv -> {
        throw InvoiceException.conflict(id + " is already " + inv.invoice().status() + "; only a draft (DRAFT-<tenant>"
            + "-<YYYY-MM>) can be finalized");
      });
    }
    String tenantId = d.group(1);
    String m = d.group(2);
    Instant openUntil = monthEnd(m).plus(grace);
    if (!early && clock.instant().isBefore(openUntil)) {
      return CompletableFuture.failedFuture(new InvoiceException(InvoiceException.Kind.CONFLICT, m + " is open for "
          + "late usage until " + openUntil + " (month end plus the grace period); finalize then, or with "
          + "?early=true now (usage recorded later in the month lands on no invoice)",
          Map.of("openUntil", openUntil.toString())));
    }
    return draftOf(tenantId, m)
        .thenCompose(draft -> reconcile.check(tenantId, m).thenCompose(counts -> {
          if (!counts.clean()) {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("missing", counts.missing());
            details.put("billedTwice", counts.billedTwice());
            details.put("withoutEvent", counts.withoutEvent());
            details.put("rollupsWrong", counts.rollupsWrong());
            throw new InvoiceException(InvoiceException.Kind.CONFLICT, "the journal of tenant " + tenantId
                + " does not reconcile with its ledger (" + counts.missing() + " missing, " + counts.billedTwice()
                + " billed twice, " + counts.withoutEvent() + " without event, " + counts.rollupsWrong()
                + " wrong rollup rows); run POST /admin/reconciliation?tenant=" + tenantId + "&repair=true first",
                details);
          }
          return compute(tenantId, m, draft.draftRevision());
        }))
        .thenCompose(fresh -> usage.rollupChargeMicros(tenantId, m).thenApply(rollup -> {
          long charged = fresh.usageMicros() + fresh.discountMicros();
          if (rollup != charged) {
            throw new InvoiceException(InvoiceException.Kind.CONFLICT, "the ledger (" + InvoiceCalculator.usd(charged)
                + " USD) and the usage rollups (" + InvoiceCalculator.usd(rollup) + " USD) of " + m
                + " disagree; reconcile with repair and try again",
                Map.of("ledgerMicros", charged, "rollupMicros", rollup));
          }
          return fresh;
        }))
        .thenCompose(fresh -> take(INVOICE_SERIES, this::completeInvoice, () -> draftOf(tenantId, m),
            (current, n) -> {
              Invoice inv = new Invoice(fresh.schema(), fresh.id(), null, Invoice.DRAFT, tenantId, m, fresh.currency(),
                  fresh.lines(), fresh.usageMicros(), fresh.discountMicros(), fresh.slaCreditMicros(),
                  fresh.totalMicros(), fresh.requests(), current.draftRevision(), fresh.computedAtMillis(), 0, 0,
                  null);
              return InvoiceStore.write(inv.finalizedAs(invoiceNumber(n), clock.millis()));
            }))
        .thenApply(doc -> InvoiceStore.read(doc, Invoice.class));
  }

  /** The draft of a tenant-month; refused when the month is finalized or has no draft. */
  private CompletionStage<Invoice> draftOf(String tenantId, String month) {
    return store.month(tenantId, month).thenApply(rows -> {
      Optional<Invoice> fin = live(rows);
      if (fin.isPresent()) {
        throw InvoiceException.conflict(month + " of tenant " + tenantId + " is already finalized as "
            + fin.get().number());
      }
      return rows.stream().filter(i -> Invoice.DRAFT.equals(i.status())).findFirst().orElseThrow(() ->
          InvoiceException.notFound("no draft " + Invoice.draftId(tenantId, month) + "; compute one with POST "
              + "/admin/tenants/" + tenantId + "/invoices/" + month + "/draft"));
    });
  }

  /** Writes a finalized invoice where it belongs, announces it, then records its number (the mark of completion). */
  private CompletionStage<Done> completeInvoice(String doc) {
    Invoice inv = InvoiceStore.read(doc, Invoice.class);
    return store.locate(inv.number()).thenCompose(found -> found.isPresent()
        ? CompletableFuture.completedFuture(Done.getInstance())
        : store.insertFinalized(inv)
            .thenCompose(w -> store.removeDraft(inv))
            .thenCompose(w -> events.publish(new BillingEvent(BillingEvent.INVOICE_FINALIZED + ":" + inv.number(),
                inv.tenantId(), BillingEvent.INVOICE_FINALIZED, Instant.ofEpochMilli(inv.finalizedAtMillis()),
                InvoiceStore.write(InvoiceDocuments.eventData(inv)))))
            .thenCompose(w -> inv.slaCreditMicros() == 0 ? CompletableFuture.completedFuture(w)
                : events.publish(slaCreditIssued(inv)))
            .thenCompose(w -> store.recordNumber(inv)));
  }

  /** One id per tenant-month: a credit is announced once, also when a voided month is finalized again. */
  static BillingEvent slaCreditIssued(Invoice inv) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("tenantId", inv.tenantId());
    data.put("month", inv.month());
    data.put("invoice", inv.number());
    data.put("creditUsd", InvoiceCalculator.usd(-inv.slaCreditMicros()));
    return new BillingEvent(BillingEvent.SLA_CREDIT_ISSUED + ":" + inv.tenantId() + ":" + inv.month(), inv.tenantId(),
        BillingEvent.SLA_CREDIT_ISSUED, Instant.ofEpochMilli(inv.finalizedAtMillis()), InvoiceStore.write(data));
  }

  /** The step that decides what the next number is given to, from the state after the last one was completed. */
  private interface Claim<T> {
    String document(T current, long number);
  }

  /**
   * Takes the next number of {@code series}: completes the last one's document, checks (and reads) what the new
   * number is for, and moves the sequence by one with the new document, retrying when another node moved it first.
   */
  private <T> CompletionStage<String> take(String series, Function<String, CompletionStage<Done>> complete,
                                           java.util.function.Supplier<CompletionStage<T>> check, Claim<T> claim) {
    return take(series, complete, check, claim, 0);
  }

  private <T> CompletionStage<String> take(String series, Function<String, CompletionStage<Done>> complete,
                                           java.util.function.Supplier<CompletionStage<T>> check, Claim<T> claim,
                                           int tries) {
    if (tries >= MAX_TRIES) {
      return CompletableFuture.failedFuture(new IllegalStateException("the " + series + " sequence is too busy; "
          + "try again"));
    }
    return store.sequence(series).thenCompose(st -> (st.lastDoc() == null
            ? CompletableFuture.completedFuture(Done.getInstance()) : complete.apply(st.lastDoc()))
        .thenCompose(done -> check.get())
        .thenCompose(current -> {
          String doc = claim.document(current, st.last() + 1);
          return store.advance(series, st.last(), doc).thenCompose(applied -> {
            if (applied) {
              return complete.apply(doc).thenApply(d -> doc);
            }
            long pause = ThreadLocalRandom.current().nextLong(1, 5 + Math.min(tries, 20) * 5L);
            return CompletableFuture.supplyAsync(() -> null,
                    CompletableFuture.delayedExecutor(pause, TimeUnit.MILLISECONDS))
                .thenCompose(x -> take(series, complete, check, claim, tries + 1));
          });
        }));
  }

  private String invoiceNumber(long n) {
    return String.format("AIMOS-%d-%06d", clock.instant().atZone(ZoneOffset.UTC).getYear(), n);
  }

  private String creditNoteNumber(long n) {
    return String.format("AIMOS-CN-%d-%06d", clock.instant().atZone(ZoneOffset.UTC).getYear(), n);
  }

  // ---- void ----

  /** Voids a finalized invoice; it stays readable with status void. */
  public CompletionStage<Invoice> voidInvoice(String id, String reason) {
    if (reason != null && reason.length() > MAX_NOTE) {
      return CompletableFuture.failedFuture(InvoiceException.invalid("reason must have at most " + MAX_NOTE
          + " characters"));
    }
    return get(id).thenCompose(view -> {
      Invoice inv = view.invoice();
      if (!Invoice.FINALIZED.equals(inv.status())) {
        throw InvoiceException.conflict(id + " is " + inv.status() + "; only a finalized invoice can be voided");
      }
      Invoice voided = inv.voided(clock.millis(), reason);
      return store.voidInvoice(voided).thenApply(applied -> {
        if (!applied) {
          throw InvoiceException.conflict(id + " was voided meanwhile");
        }
        return voided;
      });
    });
  }

  // ---- credit notes ----

  /** Issues a credit note of {@code amountMicros} against a finalized invoice, at most what is left of it. */
  public CompletionStage<CreditNote> creditNote(String invoiceNumber, long amountMicros, String reason, String note) {
    if (amountMicros <= 0) {
      return CompletableFuture.failedFuture(InvoiceException.invalid("amountUsd must be more than 0"));
    }
    if (reason == null || !CreditNote.REASONS.contains(reason)) {
      return CompletableFuture.failedFuture(InvoiceException.invalid("reason must be one of sla, adjustment, dispute"));
    }
    if (note != null && note.length() > MAX_NOTE) {
      return CompletableFuture.failedFuture(InvoiceException.invalid("note must have at most " + MAX_NOTE
          + " characters"));
    }
    return get(invoiceNumber).thenCompose(first -> {
      if (!Invoice.FINALIZED.equals(first.invoice().status())) {
        throw InvoiceException.conflict(invoiceNumber + " is " + first.invoice().status() + "; credit notes are "
            + "issued only against finalized invoices");
      }
      return take(CREDIT_NOTE_SERIES, this::completeCreditNote, () -> get(invoiceNumber), (view, n) -> {
        Invoice inv = view.invoice();
        if (!Invoice.FINALIZED.equals(inv.status())) {
          throw InvoiceException.conflict(invoiceNumber + " is " + inv.status() + "; credit notes are issued only "
              + "against finalized invoices");
        }
        long left = view.remainingMicros();
        if (amountMicros > left) {
          throw new InvoiceException(InvoiceException.Kind.CONFLICT, "the credit note (" + InvoiceCalculator.usd(
              amountMicros) + " USD) is more than what is left of " + invoiceNumber + " (" + InvoiceCalculator.usd(left)
              + " USD)", Map.of("remainingUsd", InvoiceCalculator.usd(left)));
        }
        return InvoiceStore.write(new CreditNote(CreditNote.SCHEMA, creditNoteNumber(n), invoiceNumber,
            inv.tenantId(), inv.month(), reason, note, amountMicros, clock.millis()));
      });
    }).thenApply(doc -> InvoiceStore.read(doc, CreditNote.class));
  }

  private CompletionStage<Done> completeCreditNote(String doc) {
    CreditNote cn = InvoiceStore.read(doc, CreditNote.class);
    return store.hasCreditNote(cn).thenCompose(has -> has
        ? CompletableFuture.completedFuture(Done.getInstance())
        : events.publish(new BillingEvent(BillingEvent.CREDIT_NOTE_CREATED + ":" + cn.number(), cn.tenantId(),
                BillingEvent.CREDIT_NOTE_CREATED, Instant.ofEpochMilli(cn.createdAtMillis()),
                InvoiceStore.write(InvoiceDocuments.eventData(cn))))
            .thenCompose(d -> store.insertCreditNote(cn)));
  }

  public CompletionStage<List<CreditNote>> creditNotes(String invoiceNumber) {
    return get(invoiceNumber).thenCompose(view -> completeLast(CREDIT_NOTE_SERIES, this::completeCreditNote)
        .thenCompose(d -> store.creditNotes(invoiceNumber)).thenApply(Invoices::byNumber));
  }

  private static List<CreditNote> byNumber(List<CreditNote> notes) {
    List<CreditNote> sorted = new ArrayList<>(notes);
    sorted.sort(Comparator.comparing(CreditNote::createdAtMillis).thenComparing(CreditNote::number));
    return sorted;
  }

  private CompletionStage<Done> completeLast(String series, Function<String, CompletionStage<Done>> complete) {
    return store.sequence(series).thenCompose(st -> st.lastDoc() == null
        ? CompletableFuture.completedFuture(Done.getInstance()) : complete.apply(st.lastDoc()));
  }

  // ---- reads ----

  /** An invoice with its credit notes: what is left of it is its total less what they credit. */
  public record View(Invoice invoice, List<CreditNote> creditNotes) {
    public long creditedMicros() {
      return creditNotes.stream().mapToLong(CreditNote::amountMicros).sum();
    }

    public long remainingMicros() {
      return invoice.totalMicros() - creditedMicros();
    }
  }

  /** A draft (by its draft id) or a numbered invoice, with its credit notes. */
  public CompletionStage<View> get(String id) {
    Matcher d = DRAFT_ID.matcher(id);
    if (d.matches() && ApiKeys.isValidTenantId(d.group(1)) && validMonth(d.group(2))) {
      return store.month(d.group(1), d.group(2)).thenApply(rows -> rows.stream()
          .filter(i -> Invoice.DRAFT.equals(i.status())).findFirst()
          .map(i -> new View(i, List.of()))
          .orElseThrow(() -> InvoiceException.notFound("no invoice " + id)));
    }
    if (!NUMBER.matcher(id).matches()) {
      return CompletableFuture.failedFuture(InvoiceException.notFound("no invoice " + clip(id) + "; invoice numbers "
          + "look like AIMOS-2026-000123, drafts like DRAFT-<tenant>-2026-11"));
    }
    return store.locate(id)
        .thenCompose(found -> found.isPresent() ? CompletableFuture.completedFuture(found)
            : completeLast(INVOICE_SERIES, this::completeInvoice).thenCompose(x -> store.locate(id)))
        .thenCompose(found -> {
          if (found.isEmpty()) {
            throw InvoiceException.notFound("no invoice " + id);
          }
          String[] at = found.get();
          return store.month(at[0], at[1]).thenCompose(rows -> {
            Invoice inv = rows.stream().filter(i -> id.equals(i.number())).findFirst()
                .orElseThrow(() -> InvoiceException.notFound("no invoice " + id));
            return store.creditNotes(id).thenApply(notes -> new View(inv, byNumber(notes)));
          });
        });
  }

  /** Like {@link #get} for a tenant reading its own: another tenant's invoice is simply not found. */
  public CompletionStage<View> getOwn(String tenantId, String id) {
    return get(id).thenApply(v -> {
      if (!v.invoice().tenantId().equals(tenantId)) {
        throw InvoiceException.notFound("no invoice " + clip(id));
      }
      return v;
    });
  }

  /** A tenant's invoices, newest month first: finalized and void ones, and the draft of a month not yet invoiced. */
  public CompletionStage<List<Invoice>> list(String tenantId) {
    return completeLast(INVOICE_SERIES, this::completeInvoice).thenCompose(x -> store.tenant(tenantId)).thenApply(all -> {
      List<Invoice> out = new ArrayList<>();
      for (Invoice i : all) {
        boolean superseded = Invoice.DRAFT.equals(i.status()) && all.stream().anyMatch(o -> o.month().equals(i.month())
            && Invoice.FINALIZED.equals(o.status()));
        if (!superseded) {
          out.add(i);
        }
      }
      out.sort(Comparator.comparing(Invoice::month).reversed().thenComparing(Invoice::id));
      return out;
    });
  }

  /** A tenant's finalized and void invoices only: what a tenant sees of its own. */
  public CompletionStage<List<Invoice>> issued(String tenantId) {
    return list(tenantId).thenApply(l -> l.stream().filter(i -> !Invoice.DRAFT.equals(i.status())).toList());
  }

  /**
   * A month's usage export: its billed requests folded into one line per UTC day x model x version x billing unit x
   * unit price (at list price, like the invoice's usage lines), streamed as the ledger is read a page at a time (a day
   * is written once the rows move past it, so memory holds one day's lines), then a volume discount line when the
   * charges were below list price, then the SLA credit line of the month's finalized invoice, if it has one. Once the
   * month is finalized, the amounts sum to the invoice's total exactly (usage recorded after finalizing aside).
   */
  public Source<UsageLine, NotUsed> usageLines(String tenantId, String month) {
    String m;
    try {
      m = month(month);
    } catch (InvoiceException e) {
      return Source.failed(e);
    }
    Source<UsageLine, NotUsed> days = usage.rows(tenantId, m)
        .statefulMap(DayLines::new, (day, row) -> org.apache.pekko.japi.Pair.create(day, day.add(row)),
            day -> Optional.of(day.last()))
        .mapConcat(l -> l);
    Source<UsageLine, NotUsed> credit = Source.lazyCompletionStageSource(() ->
        completeLast(INVOICE_SERIES, this::completeInvoice).thenCompose(x -> store.month(tenantId, m))
            .thenApply(rows -> Source.from(live(rows).filter(inv -> inv.slaCreditMicros() != 0)
                .map(inv -> new UsageLine(InvoiceLine.SLA_CREDIT, null, null, null, null, 0, null, 0, 0,
                    inv.slaCreditMicros())).stream().toList())))
        .mapMaterializedValue(x -> NotUsed.notUsed());
    return days.concat(credit);
  }

  /** The lines of the day being read; handed out when the rows move to another day. */
  private static final class DayLines {
    private record Key(String model, String version, aimos.api.v1.BillingUnit unit, long unitPriceMicros) {}

    private static final class Sum {
      long units;
      long requests;
      long listMicros;
    }

    private String day;
    private long listMicros;
    private long chargedMicros;
    private final Map<Key, Sum> sums = new java.util.TreeMap<>(Comparator.comparing(Key::model)
        .thenComparing(Key::version).thenComparing(k -> k.unit().getNumber()).thenComparingLong(Key::unitPriceMicros));

    List<UsageLine> add(LedgerRow r) {
      String d = Instant.ofEpochMilli(r.recordedAtMillis()).atZone(ZoneOffset.UTC).toLocalDate().toString();
      List<UsageLine> out = d.equals(day) ? List.of() : flush();
      day = d;
      Sum s = sums.computeIfAbsent(new Key(r.model(), r.version(), r.unit(), r.unitPriceMicros()), k -> new Sum());
      s.units = Math.addExact(s.units, InvoiceCalculator.billedUnits(r));
      s.requests++;
      long list = InvoiceCalculator.listMicros(r);
      s.listMicros = Math.addExact(s.listMicros, list);
      listMicros = Math.addExact(listMicros, list);
      chargedMicros = Math.addExact(chargedMicros, r.chargeMicros());
      return out;
    }

    /** The last day's lines and the month's volume discount, if any. */
    List<UsageLine> last() {
      List<UsageLine> out = new ArrayList<>(flush());
      long discount = Math.subtractExact(chargedMicros, listMicros);
      if (discount != 0) {
        out.add(new UsageLine(InvoiceLine.VOLUME_DISCOUNT, null, null, null, null, 0, null, 0, 0, discount));
      }
      return out;
    }

    List<UsageLine> flush() {
      List<UsageLine> out = new ArrayList<>();
      sums.forEach((k, s) -> out.add(new UsageLine(InvoiceLine.USAGE, day, k.model(), k.version(),
          InvoiceCalculator.unitName(k.unit()), k.unitPriceMicros(), InvoiceCalculator.quantity(k.unit(), s.units),
          s.units, s.requests, s.listMicros)));
      sums.clear();
      return out;
    }
  }

  // ---- checks ----

  private static Optional<Invoice> live(List<Invoice> rows) {
    return rows.stream().filter(i -> Invoice.FINALIZED.equals(i.status())).findFirst();
  }

  /** A month "2026-11" that has begun (UTC). */
  public String month(String month) {
    if (month == null || !validMonth(month)) {
      throw InvoiceException.invalid("month must look like 2026-11, was '" + clip(String.valueOf(month)) + "'");
    }
    YearMonth ym = YearMonth.parse(month);
    if (ym.isAfter(YearMonth.now(clock.withZone(ZoneOffset.UTC)))) {
      throw InvoiceException.invalid("month " + month + " has not begun");
    }
    return ym.toString();
  }

  private static boolean validMonth(String m) {
    if (!MONTH.matcher(m).matches()) {
      return false;
    }
    try {
      YearMonth.parse(m);
      return true;
    } catch (DateTimeException e) {
      return false;
    }
  }

  static Instant monthEnd(String month) {
    return YearMonth.parse(month).plusMonths(1).atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
  }

  public static boolean isInvoiceNumber(String s) {
    return NUMBER.matcher(s).matches();
  }

  public static boolean isCreditNoteNumber(String s) {
    return CREDIT_NOTE_NUMBER.matcher(s).matches();
  }

  private static String clip(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }
}
