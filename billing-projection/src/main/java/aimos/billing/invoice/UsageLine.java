package aimos.billing.invoice;

/**
 * One line of a month's usage export. {@code kind} is {@value InvoiceLine#USAGE} (one UTC day x model x version x
 * billing unit x unit price, at list price), {@value InvoiceLine#VOLUME_DISCOUNT} (the month's discount, negative) or
 * {@value InvoiceLine#SLA_CREDIT} (the credit on the month's finalized invoice, negative). Adjustments have no day,
 * model, unit or quantity (nulls). Amounts are integer micro-dollars.
 */
public record UsageLine(String kind, String day, String model, String version, String unit, long unitPriceMicros,
                        String quantity, long units, long requests, long amountMicros) {
}
