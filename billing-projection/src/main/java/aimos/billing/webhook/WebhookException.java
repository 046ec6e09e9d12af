package aimos.billing.webhook;

/** A webhook request refused, with what to fix; {@link Kind} says which HTTP status it maps to. */
public final class WebhookException extends RuntimeException {
  public enum Kind {
    /** The input is wrong (400). */
    INVALID,
    /** No such endpoint of this tenant (404). */
    NOT_FOUND,
    /** The tenant's state does not allow it, for example too many endpoints (409). */
    CONFLICT
  }

  private final Kind kind;

  public WebhookException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
