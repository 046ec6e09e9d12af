package aimos.node.admin;

import aimos.billing.invoice.InvoiceDocuments;
import aimos.billing.invoice.InvoiceException;
import aimos.billing.invoice.InvoiceStore;
import aimos.billing.invoice.Invoices;
import aimos.billing.ledger.LedgerReader;
import aimos.billing.ledger.UsageReport;
import aimos.billing.notify.BillingEvents;
import aimos.billing.rollup.UsageQueries;
import aimos.tenant.Money;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import aimos.billing.sla.JournalSla;
import aimos.billing.sla.SlaCredit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Invoices and credit notes in the admin API, mounted by {@link AdminRoutes} behind its authentication, access policy
 * and audit: {@code /admin/tenants/{id}/invoices[/{YYYY-MM}/draft]} and {@code /admin/invoices/{number}[/finalize|
 * /void|/credit-notes]}. {@code GET /admin/invoices/{number}} answers JSON, or CSV / PDF for {@code Accept: text/csv}
 * / {@code application/pdf} (or {@code ?format=csv|pdf}). {@code GET /admin/tenants/{id}/usage/lines?month=} streams a
 * month's usage lines (NDJSON or CSV); the invoice and credit-note lists come as JSON, CSV or NDJSON
 * ({@link BillingExports}).
 */
public final class InvoiceRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(InvoiceRoutes.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ContentType.WithCharset CSV = MediaTypes.TEXT_CSV.toContentType(
      org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8);
  private static final ContentType PDF = MediaTypes.APPLICATION_PDF.toContentType();

  private final Invoices invoices;
  private final JournalSla sla;
  private final TenantAdmin tenants;
  private final InvoiceClosing closing;

  public InvoiceRoutes(Invoices invoices, JournalSla sla, TenantAdmin tenants, InvoiceClosing closing) {
    this.invoices = invoices;
    this.sla = sla;
    this.tenants = tenants;
    this.closing = closing;
  }

  /**
   * The invoicing service of this node: its tables (when the node creates tables), the month's usage from the ledger
   * and rollups, reconciliation without repair before finalizing, and the webhook outbox for its events.
   */
  public static Invoices start(ActorSystem<?> system, CassandraSession session, String keyspace, boolean createTables,
                               LedgerReader ledger, UsageQueries usage, Reconciliation reconciliation,
                               JournalSla sla, BillingEvents events, Duration grace) {
    if (createTables) {
      InvoiceStore.createTables(session, keyspace).toCompletableFuture().join();
    }
    Invoices.MonthUsage month = new Invoices.MonthUsage() {
      @Override
      public org.apache.pekko.stream.javadsl.Source<aimos.billing.ledger.LedgerRow, org.apache.pekko.NotUsed> rows(
          String tenantId, String m) {
        return ledger.rows(tenantId, m, LedgerReader.EXPORT_PAGE);
      }

      @Override
      public CompletionStage<Long> rollupChargeMicros(String tenantId, String m) {
        return usage.report(tenantId, m).thenApply(UsageReport::chargeMicros);
      }
    };
    Invoices.ReconcileCheck check = (tenantId, m) -> reconciliation.run(tenantId, false).thenApply(s ->
        new Invoices.ReconcileCounts(count(s, "remainingMissing"), count(s, "billedTwice"), count(s, "withoutEvent"),
            count(s, "remainingRollupsWrong")));
    return new Invoices(system, new InvoiceStore(session, keyspace), month, check, sla, events,
        Clock.systemUTC(), grace);
  }

  private static long count(Map<String, Object> summary, String key) {
    Object v = summary.get(key);
    return v instanceof Number n ? n.longValue() : 0;
  }

  private static final java.util.regex.Pattern INVOICE_CHANGE =
      java.util.regex.Pattern.compile("/admin/invoices/([^/]+)/(finalize|void|credit-notes)");

  /** For the audit record: the invoice that finalizing, voiding or crediting changes; null for other paths. */
  public CompletionStage<Object> before(String path) {
    java.util.regex.Matcher m = INVOICE_CHANGE.matcher(path);
    return m.matches() ? invoices.get(m.group(1)).thenApply(v -> (Object) InvoiceDocuments.json(v)) : null;
  }

  // ---- /admin/tenants/{id}/invoices ----

  public Route tenantRoutes(String id) {
    return concat(path("sla", () -> concat(
            get(() -> parameter("month", month -> parameterOptional("format", format -> {
              if (format.isPresent() && !format.get().equals("json")) {
                if (!format.get().equals("csv")) {
                  return complete(error(StatusCodes.BAD_REQUEST, "format must be json or csv, was '" + format.get()
                      + "'"));
                }
                CompletionStage<SlaCredit.Evidence> stage;
                try {
                  invoices.month(month);
                  stage = tenants.get(id).thenCompose(t -> sla.evidence(id, month));
                } catch (RuntimeException e) {
                  stage = CompletableFuture.failedFuture(e);
                }
                return completeWithFuture(stage.handle((e, err) -> err == null
                    ? HttpResponse.create().withEntity(HttpEntities.create(CSV, slaCsv(e))) : failure(null, err)));
              }
              return respond(StatusCodes.OK, () -> {
                invoices.month(month);
                return tenants.get(id).thenCompose(t -> sla.evidence(id, month)).thenApply(InvoiceRoutes::slaJson);
              });
            }))),
            notAllowed("GET"))),
        path(PathMatchers.segment("usage").slash("lines"), () -> concat(
            get(() -> parameterOptional("month", month -> BillingExports.export(LINES, BillingExports.USAGE_LINES,
                "usage-" + id + "-" + month.orElse("current"), () -> {
                  String m = invoices.month(TenantUsage.month(month));
                  return tenants.get(id).thenApply(t -> invoices.usageLines(id, m));
                }, this::failure))),
            notAllowed("GET"))),
        invoiceRoutesOf(id));
  }

  private static final java.util.List<BillingExports.Format> DOCUMENTS = java.util.List.of(
      BillingExports.Format.JSON, BillingExports.Format.CSV, BillingExports.Format.NDJSON);
  private static final java.util.List<BillingExports.Format> LINES = java.util.List.of(
      BillingExports.Format.NDJSON, BillingExports.Format.CSV);

  /** The evidence of a tenant-month's SLA, as the admin API shows it. */
  static java.util.Map<String, Object> slaJson(SlaCredit.Evidence e) {
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("tenantId", e.tenantId());
    m.put("month", e.month());
    m.put("thresholdMs", SlaCredit.THRESHOLD_MICROS / 1000);
    m.put("eligibleRequests", e.eligible());
    m.put("overThreshold", e.over());
    m.put("sharePercent", e.sharePercent().toPlainString());
    m.put("breached", e.breached());
    m.put("chargesUsd", aimos.tenant.Money.format(e.chargesMicros()));
    m.put("creditUsd", aimos.tenant.Money.format(e.creditMicros()));
    m.put("overRequestIds", e.overRequestIds());
    m.put("overLatencyMs", e.overLatencyMicros().stream().map(micros -> micros / 1000.0).toList());
    return m;
  }

  /** The requests over the threshold, one per line: the export behind a credit. */
  static String slaCsv(SlaCredit.Evidence e) {
    StringBuilder b = new StringBuilder("request_id,latency_ms\n");
    for (int i = 0; i < e.overRequestIds().size(); i++) {
      b.append(e.overRequestIds().get(i)).append(',').append(e.overLatencyMicros().get(i) / 1000.0).append('\n');
    }
    return b.toString();
  }

  private Route invoiceRoutesOf(String id) {
    return pathPrefix("invoices", () -> concat(
        pathEnd(() -> concat(
            get(() -> BillingExports.export(DOCUMENTS, BillingExports.INVOICES, "invoices-" + id,
                () -> tenants.get(id).thenCompose(t -> invoices.list(id))
                    .thenApply(org.apache.pekko.stream.javadsl.Source::from), this::failure)),
            notAllowed("GET"))),
        path(PathMatchers.segment().slash("draft"), month -> concat(
            post(() -> respond(StatusCodes.OK, () -> {
              invoices.month(month);
              return tenants.get(id).thenCompose(t -> invoices.draft(id, month))
                  .thenApply(i -> InvoiceDocuments.json(new Invoices.View(i, java.util.List.of())));
            })),
            notAllowed("POST")))));
  }

  // ---- /admin/invoices/{number} ----

  public Route adminRoutes() {
    return pathPrefix("invoices", () -> concat(path("close", () -> concat(
            post(() -> respond(StatusCodes.OK, () -> closing.runNow().thenApply(InvoiceClosing::summary))),
            notAllowed("POST"))),
        pathPrefix(PathMatchers.segment(), number -> concat(
        pathEnd(() -> concat(
            get(() -> rendered(() -> invoices.get(number), this::failure)),
            notAllowed("GET"))),
        path("finalize", () -> concat(
            post(() -> parameterOptional("early", early -> respond(StatusCodes.OK, () -> invoices
                .finalizeDraft(number, flag(early, "early")).thenCompose(i -> invoices.get(i.number()))
                .thenApply(InvoiceDocuments::json)))),
            notAllowed("POST"))),
        path("void", () -> concat(
            post(() -> optionalBody(body -> respond(StatusCodes.OK, () -> invoices.voidInvoice(number,
                    text(body, "reason", false)).thenCompose(i -> invoices.get(i.number()))
                .thenApply(InvoiceDocuments::json)))),
            notAllowed("POST"))),
        path("credit-notes", () -> concat(
            get(() -> BillingExports.export(DOCUMENTS, BillingExports.CREDIT_NOTES, "credit-notes-" + number,
                () -> invoices.creditNotes(number).thenApply(org.apache.pekko.stream.javadsl.Source::from),
                this::failure)),
            post(() -> optionalBody(body -> respond(StatusCodes.CREATED, () -> {
              CreditNoteRequest r = creditNote(body);
              return invoices.creditNote(number, r.amountMicros(), r.reason(), r.note())
                  .thenApply(InvoiceDocuments::json);
            }))),
            notAllowed("GET or POST"))),
        complete(error(StatusCodes.NOT_FOUND, "no such invoice route: use /admin/invoices/{number}, /finalize, "
            + "/void or /credit-notes"))))));
  }

  record CreditNoteRequest(long amountMicros, String reason, String note) {}

  /** {@code {"amountUsd": "12.50", "reason": "sla|adjustment|dispute", "note"?: "..."}}. */
  static CreditNoteRequest creditNote(JsonNode body) {
    for (var it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("amountUsd") && !f.equals("reason") && !f.equals("note")) {
        throw new IllegalArgumentException("unknown field '" + f + "'; a credit note has amountUsd, reason and note");
      }
    }
    JsonNode amount = body.get("amountUsd");
    if (amount == null || !(amount.isTextual() || amount.isNumber())) {
      throw new IllegalArgumentException("field 'amountUsd' is required: dollars as a string, for example \"12.50\"");
    }
    long micros = Money.parseUsd(amount.asText());
    String reason = text(body, "reason", true);
    return new CreditNoteRequest(micros, reason, text(body, "note", false));
  }

  static String text(JsonNode body, String field, boolean required) {
    JsonNode v = body == null ? null : body.get(field);
    if (v == null || v.isNull()) {
      if (required) {
        throw new IllegalArgumentException("field '" + field + "' is required");
      }
      return null;
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException("field '" + field + "' must be a string");
    }
    return v.asText();
  }

  static boolean flag(Optional<String> value, String name) {
    if (value.isEmpty()) {
      return false;
    }
    return switch (value.get()) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(name + " must be true or false");
    };
  }

  // ---- renderings, shared with the tenant's own routes ----

  /**
   * The invoice as JSON, CSV or PDF, chosen by {@code ?format=} or else the Accept header; {@code error} writes
   * refusals in the API's format.
   */
  public static Route rendered(Supplier<CompletionStage<Invoices.View>> read,
                               BiFunction<StatusCode, Throwable, HttpResponse> failure) {
    return Directives.parameterOptional("format", format -> Directives.optionalHeaderValueByName("Accept", accept -> {
      String kind;
      try {
        kind = renderingOf(format, accept);
      } catch (IllegalArgumentException e) {
        return Directives.complete(failure.apply(StatusCodes.BAD_REQUEST, e));
      }
      CompletionStage<Invoices.View> view;
      try {
        view = read.get();
      } catch (RuntimeException e) {
        view = CompletableFuture.failedFuture(e);
      }
      return Directives.completeWithFuture(view.handle((v, err) -> err != null ? failure.apply(null, err) : render(v, kind)));
    }));
  }

  static String renderingOf(Optional<String> format, Optional<String> accept) {
    if (format.isPresent()) {
      return switch (format.get()) {
        case "json", "csv", "pdf" -> format.get();
        default -> throw new IllegalArgumentException("format must be json, csv or pdf");
      };
    }
    String a = accept.orElse("").toLowerCase();
    if (a.contains("application/pdf")) {
      return "pdf";
    }
    if (a.contains("text/csv")) {
      return "csv";
    }
    return "json";
  }

  private static HttpResponse render(Invoices.View v, String kind) {
    String name = v.invoice().id();
    return switch (kind) {
      case "csv" -> HttpResponse.create().withEntity(HttpEntities.create(CSV, InvoiceDocuments.csv(v.invoice())))
          .addHeader(RawHeader.create("Content-Disposition", "attachment; filename=\"" + name + ".csv\""));
      case "pdf" -> HttpResponse.create().withEntity(HttpEntities.create(PDF, InvoiceDocuments.pdf(v)))
          .addHeader(RawHeader.create("Content-Disposition", "attachment; filename=\"" + name + ".pdf\""));
      default -> json(StatusCodes.OK, InvoiceDocuments.json(v));
    };
  }

  // ---- bodies and answers ----

  /** A JSON object body, or none (null to the inner route); a body that is not a JSON object is a 400. */
  private Route optionalBody(java.util.function.Function<JsonNode, Route> inner) {
    return entity(Unmarshaller.entityToString(), body -> {
      if (body.isBlank()) {
        return inner.apply(JSON.createObjectNode());
      }
      JsonNode node;
      try {
        node = JSON.readTree(body);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        return complete(error(StatusCodes.BAD_REQUEST, "the body is not valid JSON: " + e.getOriginalMessage()));
      }
      if (node == null || !node.isObject()) {
        return complete(error(StatusCodes.BAD_REQUEST, "the body must be a JSON object"));
      }
      return inner.apply(node);
    });
  }

  private Route notAllowed(String methods) {
    return extractMethod(m -> complete(error(StatusCodes.METHOD_NOT_ALLOWED,
        m.name() + " is not allowed here; use " + methods)));
  }

  private <T> Route respond(StatusCode success, Supplier<CompletionStage<T>> action) {
    CompletionStage<T> stage;
    try {
      stage = action.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return completeWithFuture(stage.handle((value, err) -> err == null ? json(success, value) : failure(null, err)));
  }

  private static HttpResponse json(StatusCode status, Object value) {
    try {
      return HttpResponse.create().withStatus(status)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(value)));
    } catch (Exception e) {
      throw new IllegalStateException("cannot write JSON for " + value.getClass(), e);
    }
  }

  private static HttpResponse error(StatusCode status, String message) {
    return AdminRoutes.error(status, message);
  }

  /** The admin API's error object; an invoice refusal adds its details (for example reconciliation counts). */
  private HttpResponse failure(StatusCode given, Throwable err) {
    Outcome o = outcome(given, err);
    ObjectNode root = JSON.createObjectNode();
    ObjectNode e = root.putObject("error");
    e.put("code", o.status().intValue());
    e.put("message", o.message());
    if (!o.details().isEmpty()) {
      e.set("details", JSON.valueToTree(o.details()));
    }
    return json(o.status(), root);
  }

  /** How an error reads in any API: its status, message and details. */
  public record Outcome(StatusCode status, String message, Map<String, Object> details) {}

  public static Outcome outcome(StatusCode given, Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof InvoiceException ie) {
      return new Outcome(switch (ie.kind()) {
        case INVALID -> StatusCodes.BAD_REQUEST;
        case NOT_FOUND -> StatusCodes.NOT_FOUND;
        case CONFLICT -> StatusCodes.CONFLICT;
      }, ie.getMessage(), ie.details());
    }
    if (t instanceof BillingExports.NotAcceptable) {
      return new Outcome(StatusCodes.NOT_ACCEPTABLE, t.getMessage(), Map.of());
    }
    if (t instanceof IllegalArgumentException) {
      return new Outcome(given != null ? given : StatusCodes.BAD_REQUEST, t.getMessage(), Map.of());
    }
    if (t instanceof StatusReply.ErrorMessage) {
      return new Outcome(t.getMessage().contains("does not exist") ? StatusCodes.NOT_FOUND : StatusCodes.BAD_REQUEST,
          t.getMessage(), Map.of());
    }
    if (t instanceof TimeoutException || t instanceof com.datastax.oss.driver.api.core.DriverException
        || t instanceof IllegalStateException) {
      log.warn("Invoice request failed: {}", t.toString());
      return new Outcome(StatusCodes.SERVICE_UNAVAILABLE, "the cluster or its store did not answer in time; try "
          + "again", Map.of());
    }
    log.error("Invoice request failed", t);
    return new Outcome(StatusCodes.INTERNAL_SERVER_ERROR, "internal error; see the node's log", Map.of());
  }
}
