package aimos.billing.notify;

import java.time.Instant;
import java.util.Objects;

/**
 * Something a tenant is told about its billing, delivered to its webhook endpoints.
 *
 * @param id          stable and unique for what happened (for example {@code invoice.finalized:AIMOS-2026-000123}):
 *                    publishing the same id again never yields a second delivery, so a retry after a crash is safe
 * @param tenantId    whose endpoints receive it
 * @param type        one of the {@code TYPE_*} names
 * @param occurredAt  when it happened (not when it was published)
 * @param dataJson    the event's {@code data} object as JSON
 */
public record BillingEvent(String id, String tenantId, String type, Instant occurredAt, String dataJson) {
  public static final String INVOICE_FINALIZED = "invoice.finalized";
  public static final String CREDIT_NOTE_CREATED = "credit_note.created";
  public static final String BUDGET_THRESHOLD_CROSSED = "budget.threshold_crossed";
  public static final String SLA_CREDIT_ISSUED = "sla.credit_issued";

  public BillingEvent {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(tenantId, "tenantId");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(occurredAt, "occurredAt");
    Objects.requireNonNull(dataJson, "dataJson");
    if (id.isEmpty() || id.length() > 200) {
      throw new IllegalArgumentException("event id must have 1 to 200 characters, was " + id.length());
    }
  }
}
