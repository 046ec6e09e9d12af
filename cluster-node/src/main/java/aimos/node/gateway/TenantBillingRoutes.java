package aimos.node.gateway;

import aimos.billing.invoice.Invoice;
import aimos.billing.invoice.InvoiceException;
import aimos.billing.invoice.Invoices;
import aimos.node.admin.BillingExports;
import aimos.node.admin.InvoiceRoutes;
import aimos.node.admin.TenantUsage;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A tenant's own billing under {@code /v1/billing} on the gateway port, with its API key: {@code GET usage?month=},
 * {@code GET invoices} (finalized and void ones), {@code GET invoices/{number}} (JSON, or CSV / PDF by Accept or
 * {@code ?format=}) and {@code GET invoices/{number}/credit-notes}; {@code GET usage/lines?month=} (and {@code usage}
 * asked for CSV or NDJSON) streams the month's usage lines. Lists and lines come as JSON, CSV or NDJSON by Accept or
 * {@code ?format=} (see {@link BillingExports}). The tenant is the one its key names; another tenant's invoice, and a
 * draft, are simply not found. Errors are OpenAI's error object.
 */
public final class TenantBillingRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Invoices invoices;
  private final TenantUsage usage;
  private final KeyCheck keys;

  public TenantBillingRoutes(Invoices invoices, TenantUsage usage, KeyCheck keys) {
    this.invoices = invoices;
    this.usage = usage;
    this.keys = keys;
  }

  public Route route() {
    return pathPrefix(PathMatchers.segment("v1").slash("billing"), () ->
        optionalHeaderValueByName("Authorization", header -> onComplete(keys.tenantOf(header), result -> {
          if (result.isFailure()) {
            return complete(RestRoutes.error(StatusCodes.SERVICE_UNAVAILABLE,
                "the tenant service did not answer; try again", "server_error"));
          }
          return result.get().map(this::routes)
              .orElseGet(() -> complete(RestRoutes.error(StatusCodes.UNAUTHORIZED, "missing, invalid or revoked "
                  + "API key: send 'Authorization: Bearer aimos_<tenant>_<secret>'", "invalid_request_error",
                  "invalid_api_key")));
        })));
  }

  private Route routes(String tenant) {
    return concat(
        get(() -> concat(
            path("usage", () -> parameterOptional("month", month -> parameterOptional("format", format ->
                optionalHeaderValueByName("Accept", accept -> {
                  BillingExports.Format f;
                  try {
                    f = BillingExports.negotiate(format, accept, DOCUMENTS);
                  } catch (RuntimeException e) {
                    return complete(failure(null, e));
                  }
                  return f == BillingExports.Format.JSON ? json(() -> usage.report(tenant, month))
                      : usageLines(tenant, month);
                })))),
            path(PathMatchers.segment("usage").slash("lines"), () -> parameterOptional("month",
                month -> usageLines(tenant, month))),
            pathPrefix("invoices", () -> concat(
                pathEnd(() -> BillingExports.export(DOCUMENTS, BillingExports.INVOICES, "invoices-" + tenant,
                    () -> invoices.issued(tenant).thenApply(Source::from), TenantBillingRoutes::failure)),
                pathPrefix(PathMatchers.segment(), number -> concat(
                    pathEnd(() -> InvoiceRoutes.rendered(() -> own(tenant, number), TenantBillingRoutes::failure)),
                    path("credit-notes", () -> BillingExports.export(DOCUMENTS, BillingExports.CREDIT_NOTES,
                        "credit-notes-" + number, () -> own(tenant, number)
                            .thenApply(v -> Source.from(v.creditNotes())), TenantBillingRoutes::failure)))))))),
        extractMethod(m -> extractUnmatchedPath(p -> complete(RestRoutes.error(
            m.name().equals("GET") ? StatusCodes.NOT_FOUND : StatusCodes.METHOD_NOT_ALLOWED,
            "no route " + m.name() + " /v1/billing" + p + ": use GET /v1/billing/usage?month=YYYY-MM, "
                + "/v1/billing/usage/lines?month=YYYY-MM, /v1/billing/invoices, "
                + "/v1/billing/invoices/{number}[/credit-notes]", "invalid_request_error")))));
  }

  private static final List<BillingExports.Format> DOCUMENTS = List.of(BillingExports.Format.JSON,
      BillingExports.Format.CSV, BillingExports.Format.NDJSON);
  private static final List<BillingExports.Format> LINES = List.of(BillingExports.Format.NDJSON,
      BillingExports.Format.CSV);

  /** The month's usage lines and adjustments, streamed as NDJSON or CSV. */
  private Route usageLines(String tenant, Optional<String> month) {
    return BillingExports.export(LINES, BillingExports.USAGE_LINES, "usage-" + tenant + "-" + month.orElse("current"),
        () -> CompletableFuture.completedFuture(invoices.usageLines(tenant,
            invoices.month(TenantUsage.month(month)))), TenantBillingRoutes::failure);
  }

  /** The tenant's own issued invoice; drafts and other tenants' invoices are not found. */
  private CompletionStage<Invoices.View> own(String tenant, String number) {
    return invoices.getOwn(tenant, number).thenApply(v -> {
      if (Invoice.DRAFT.equals(v.invoice().status())) {
        throw new InvoiceException(InvoiceException.Kind.NOT_FOUND, "no invoice " + number);
      }
      return v;
    });
  }

  private Route json(Supplier<CompletionStage<?>> read) {
    CompletionStage<?> stage;
    try {
      stage = read.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return completeWithFuture(stage.handle((value, err) -> {
      if (err != null) {
        return failure(null, err);
      }
      try {
        return HttpResponse.create().withStatus(StatusCodes.OK)
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(value)));
      } catch (Exception e) {
        throw new IllegalStateException("cannot write JSON", e);
      }
    }));
  }

  private static HttpResponse failure(StatusCode given, Throwable err) {
    InvoiceRoutes.Outcome o = InvoiceRoutes.outcome(given, err);
    return RestRoutes.error(o.status(), o.message(), o.status().intValue() >= 500 ? "server_error"
        : "invalid_request_error", o.status().intValue() == 404 ? "not_found" : null);
  }
}
