package aimos.node.gateway;

import aimos.api.v1.BillingServicePowerApi;
import aimos.api.v1.CreditNote;
import aimos.api.v1.ExportUsageRequest;
import aimos.api.v1.GetInvoiceRequest;
import aimos.api.v1.GetUsageRequest;
import aimos.api.v1.GetUsageResponse;
import aimos.api.v1.InvoiceLine;
import aimos.api.v1.InvoiceSummary;
import aimos.api.v1.ListCreditNotesRequest;
import aimos.api.v1.ListCreditNotesResponse;
import aimos.api.v1.ListInvoicesRequest;
import aimos.api.v1.ListInvoicesResponse;
import aimos.api.v1.UsageLine;
import aimos.billing.invoice.Invoice;
import aimos.billing.invoice.InvoiceCalculator;
import aimos.billing.invoice.InvoiceException;
import aimos.billing.invoice.Invoices;
import aimos.node.admin.TenantUsage;
import io.grpc.Status;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The public billing API ({@code aimos.v1.BillingService}): a tenant's own usage, invoices, credit notes and usage
 * export, with any valid API key of the tenant (as the {@code /v1/billing} REST routes). The key is checked before
 * anything else, so a caller without one learns nothing, not even that its input was malformed. Another tenant's
 * invoice, and a draft, are NOT_FOUND exactly like a number never issued.
 */
public final class BillingGateway implements BillingServicePowerApi {
  private static final Logger log = LoggerFactory.getLogger(BillingGateway.class);

  private final Invoices invoices;
  private final TenantUsage usage;
  private final KeyCheck keys;

  public BillingGateway(Invoices invoices, TenantUsage usage, KeyCheck keys) {
    this.invoices = invoices;
    this.usage = usage;
    this.keys = keys;
  }

  @Override
  public CompletionStage<GetUsageResponse> getUsage(GetUsageRequest in, Metadata metadata) {
    return call(metadata, tenant -> {
      String month = month(in.getMonth());
      return usage.report(tenant, Optional.of(month)).thenApply(InferenceMapping::toProto);
    });
  }

  @Override
  public CompletionStage<ListInvoicesResponse> listInvoices(ListInvoicesRequest in, Metadata metadata) {
    return call(metadata, tenant -> invoices.issued(tenant).thenApply(list -> {
      ListInvoicesResponse.Builder b = ListInvoicesResponse.newBuilder();
      list.forEach(i -> b.addInvoices(InvoiceSummary.newBuilder().setNumber(i.number()).setStatus(i.status())
          .setMonth(i.month()).setCurrency(i.currency()).setTotalUsd(InvoiceCalculator.usd(i.totalMicros()))
          .setTotalMicros(i.totalMicros()).setFinalizedAt(instant(i.finalizedAtMillis()))));
      return b.build();
    }));
  }

  @Override
  public CompletionStage<aimos.api.v1.Invoice> getInvoice(GetInvoiceRequest in, Metadata metadata) {
    return call(metadata, tenant -> own(tenant, number(in.getNumber(), "number")).thenApply(BillingGateway::toProto));
  }

  @Override
  public CompletionStage<ListCreditNotesResponse> listCreditNotes(ListCreditNotesRequest in, Metadata metadata) {
    return call(metadata, tenant -> own(tenant, number(in.getInvoiceNumber(), "invoice_number")).thenApply(v -> {
      ListCreditNotesResponse.Builder b = ListCreditNotesResponse.newBuilder();
      v.creditNotes().forEach(c -> b.addCreditNotes(toProto(c)));
      return b.build();
    }));
  }

  @Override
  public Source<UsageLine, NotUsed> exportUsage(ExportUsageRequest in, Metadata metadata) {
    return Source.completionStageSource(call(metadata, tenant -> {
          String month = invoices.month(month(in.getMonth()));
          return CompletableFuture.completedFuture(invoices.usageLines(tenant, month).map(BillingGateway::toProto));
        }))
        .mapError(Throwable.class, BillingGateway::status)
        .mapMaterializedValue(m -> NotUsed.notUsed());
  }

  // ---- the caller, its input and its errors ----

  /** Authenticates the caller, then runs {@code action} for its tenant; every failure becomes a precise status. */
  private <T> CompletionStage<T> call(Metadata metadata, Function<String, CompletionStage<T>> action) {
    Optional<String> header = metadata.getText("authorization").filter(h -> !h.isEmpty());
    if (header.isEmpty()) {
      return CompletableFuture.failedFuture(new GrpcServiceException(Status.UNAUTHENTICATED.withDescription(
          "missing API key: send the metadata 'authorization: Bearer aimos_<tenant>_<secret>'")));
    }
    CompletionStage<T> result = keys.tenantOf(header)
        .exceptionally(e -> {
          throw new GrpcServiceException(Status.UNAVAILABLE.withDescription(
              "the tenant service did not answer in time; try again"));
        })
        .thenCompose(tenant -> {
          if (tenant.isEmpty()) {
            throw new GrpcServiceException(Status.UNAUTHENTICATED.withDescription("invalid or revoked API key"));
          }
          return action.apply(tenant.get());
        });
    return result.exceptionallyCompose(err -> CompletableFuture.failedFuture(status(err)));
  }

  /** A month "2026-11" (UTC); empty: the current month. */
  private static String month(String month) {
    return TenantUsage.month(month.isEmpty() ? Optional.empty() : Optional.of(month));
  }

  private static String number(String number, String field) {
    if (number.isEmpty()) {
      throw new IllegalArgumentException(field + " is required, for example \"AIMOS-2026-000123\"");
    }
    if (!Invoices.isInvoiceNumber(number)) {
      throw new IllegalArgumentException(field + " must be an invoice number like \"AIMOS-2026-000123\", was \""
          + (number.length() <= 40 ? number : number.substring(0, 40) + "...") + "\"");
    }
    return number;
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

  static Throwable status(Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof GrpcServiceException) {
      return t;
    }
    if (t instanceof InvoiceException ie) {
      return new GrpcServiceException((switch (ie.kind()) {
        case INVALID -> Status.INVALID_ARGUMENT;
        case NOT_FOUND -> Status.NOT_FOUND;
        case CONFLICT -> Status.FAILED_PRECONDITION;
      }).withDescription(ie.getMessage()));
    }
    if (t instanceof IllegalArgumentException) {
      return new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription(t.getMessage()));
    }
    if (t instanceof TimeoutException || t instanceof com.datastax.oss.driver.api.core.DriverException
        || t instanceof IllegalStateException) {
      log.warn("A billing read failed: {}", t.toString());
      return new GrpcServiceException(Status.UNAVAILABLE.withDescription(
          "the cluster or its store did not answer in time; try again"));
    }
    log.error("A billing read failed", t);
    return new GrpcServiceException(Status.INTERNAL.withDescription("internal error; see the node's log"));
  }

  // ---- messages ----

  static aimos.api.v1.Invoice toProto(Invoices.View v) {
    Invoice inv = v.invoice();
    aimos.api.v1.Invoice.Builder b = aimos.api.v1.Invoice.newBuilder().setNumber(inv.number())
        .setStatus(inv.status()).setTenantId(inv.tenantId()).setMonth(inv.month()).setCurrency(inv.currency())
        .setRequests(inv.requests()).setUsageUsd(InvoiceCalculator.usd(inv.usageMicros()))
        .setDiscountUsd(InvoiceCalculator.usd(inv.discountMicros()))
        .setSlaCreditUsd(InvoiceCalculator.usd(inv.slaCreditMicros()))
        .setTotalUsd(InvoiceCalculator.usd(inv.totalMicros())).setTotalMicros(inv.totalMicros())
        .setCreditedUsd(InvoiceCalculator.usd(v.creditedMicros()))
        .setRemainingUsd(InvoiceCalculator.usd(v.remainingMicros()))
        .setFinalizedAt(instant(inv.finalizedAtMillis())).setVoidedAt(instant(inv.voidedAtMillis()))
        .setVoidReason(inv.voidReason() == null ? "" : inv.voidReason());
    for (aimos.billing.invoice.InvoiceLine l : inv.lines()) {
      InvoiceLine.Builder line = InvoiceLine.newBuilder().setKind(l.kind()).setDescription(nz(l.description()))
          .setAmountUsd(InvoiceCalculator.usd(l.amountMicros())).setAmountMicros(l.amountMicros());
      if (aimos.billing.invoice.InvoiceLine.USAGE.equals(l.kind())) {
        line.setModel(nz(l.model())).setVersion(nz(l.version())).setUnit(nz(l.unit())).setQuantity(nz(l.quantity()))
            .setUnitPriceUsd(InvoiceCalculator.usd(l.unitPriceMicros())).setRequests(l.requests());
      }
      b.addLines(line);
    }
    v.creditNotes().forEach(c -> b.addCreditNotes(toProto(c)));
    return b.build();
  }

  static CreditNote toProto(aimos.billing.invoice.CreditNote c) {
    return CreditNote.newBuilder().setNumber(c.number()).setInvoiceNumber(c.invoiceNumber()).setMonth(c.month())
        .setReason(c.reason()).setNote(nz(c.note())).setAmountUsd(InvoiceCalculator.usd(c.amountMicros()))
        .setAmountMicros(c.amountMicros()).setCreatedAt(instant(c.createdAtMillis())).build();
  }

  static UsageLine toProto(aimos.billing.invoice.UsageLine l) {
    UsageLine.Builder b = UsageLine.newBuilder().setKind(l.kind())
        .setAmountUsd(InvoiceCalculator.usd(l.amountMicros())).setAmountMicros(l.amountMicros());
    if (l.day() != null) {
      b.setDay(l.day()).setModel(nz(l.model())).setVersion(nz(l.version())).setUnit(nz(l.unit()))
          .setUnitPriceUsd(InvoiceCalculator.usd(l.unitPriceMicros())).setQuantity(nz(l.quantity()))
          .setUnits(l.units()).setRequests(l.requests());
    }
    return b.build();
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }

  private static String instant(long millis) {
    return millis == 0 ? "" : Instant.ofEpochMilli(millis).toString();
  }
}
