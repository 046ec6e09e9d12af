package aimos.billing.invoice;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * One line of an invoice. {@code kind} is {@value #USAGE} (one model x version x billing unit x unit price),
 * {@value #VOLUME_DISCOUNT} or {@value #SLA_CREDIT}. Usage lines carry the quantity in their billing unit
 * ({@code 1k_tokens}, {@code image}, {@code audio_minute}), the unit price and the raw units; the amount of a usage line
 * is the sum of its requests' list-price amounts (each rounded to the micro-dollar as when it was recorded). Discount
 * and credit lines are negative. Amounts are integer micro-dollars.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record InvoiceLine(String kind, String description, String model, String version, String unit,
                          String quantity, long unitPriceMicros, long units, long requests, long amountMicros) {
  public static final String USAGE = "usage";
  public static final String VOLUME_DISCOUNT = "volume_discount";
  public static final String SLA_CREDIT = "sla_credit";
}
