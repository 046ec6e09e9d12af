package aimos.billing.invoice;

import java.util.Map;

/** A refused invoice or credit-note request: what kind of refusal, a message that says what to do, and details. */
public final class InvoiceException extends RuntimeException {
  public enum Kind { INVALID, NOT_FOUND, CONFLICT }

  private final Kind kind;
  private final Map<String, Object> details;

  public InvoiceException(Kind kind, String message) {
    this(kind, message, Map.of());
  }

  public InvoiceException(Kind kind, String message, Map<String, Object> details) {
    super(message, null, false, false);
    this.kind = kind;
    this.details = Map.copyOf(details);
  }

  public Kind kind() {
    return kind;
  }

  public Map<String, Object> details() {
    return details;
  }

  static InvoiceException invalid(String message) {
    return new InvoiceException(Kind.INVALID, message);
  }

  static InvoiceException notFound(String message) {
    return new InvoiceException(Kind.NOT_FOUND, message);
  }

  static InvoiceException conflict(String message) {
    return new InvoiceException(Kind.CONFLICT, message);
  }
}
