package aimos.billing.invoice;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * A credit note against a finalized invoice, as stored (JSON; unknown fields ignored when read). {@code reason} is
 * {@code sla}, {@code adjustment} or {@code dispute}; the amount is positive micro-dollars credited.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record CreditNote(int schema, String number, String invoiceNumber, String tenantId, String month,
                         String reason, String note, long amountMicros, long createdAtMillis) {
  public static final int SCHEMA = 1;
  public static final java.util.Set<String> REASONS = java.util.Set.of("sla", "adjustment", "dispute");
}
