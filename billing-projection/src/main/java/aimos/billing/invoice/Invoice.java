package aimos.billing.invoice;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * A tenant's invoice for one calendar month (UTC), as stored (JSON; unknown fields are ignored when read, so fields
 * can be added). {@code id} is the number once finalized, else the draft id {@code DRAFT-<tenant>-<YYYY-MM>}.
 * {@code totalMicros} is the sum of the lines' amounts, exactly. {@code draftRevision} ties a draft to the
 * finalization made from it.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Invoice(int schema, String id, String number, String status, String tenantId, String month,
                      String currency, List<InvoiceLine> lines, long usageMicros, long discountMicros,
                      long slaCreditMicros, long totalMicros, long requests, String draftRevision,
                      long computedAtMillis, long finalizedAtMillis, long voidedAtMillis, String voidReason) {
  public static final int SCHEMA = 1;
  public static final String DRAFT = "draft";
  public static final String FINALIZED = "finalized";
  public static final String VOID = "void";

  public Invoice {
    lines = lines == null ? List.of() : List.copyOf(lines);
  }

  public Invoice finalizedAs(String number, long atMillis) {
    return new Invoice(schema, number, number, FINALIZED, tenantId, month, currency, lines, usageMicros,
        discountMicros, slaCreditMicros, totalMicros, requests, draftRevision, computedAtMillis, atMillis, 0, null);
  }

  public Invoice voided(long atMillis, String reason) {
    return new Invoice(schema, id, number, VOID, tenantId, month, currency, lines, usageMicros, discountMicros,
        slaCreditMicros, totalMicros, requests, draftRevision, computedAtMillis, finalizedAtMillis, atMillis, reason);
  }

  public static String draftId(String tenantId, String month) {
    return "DRAFT-" + tenantId + "-" + month;
  }
}
