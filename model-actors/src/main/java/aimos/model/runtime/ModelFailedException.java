package aimos.model.runtime;

/**
 * A failure that is not the caller's, explained in the runtime's own words for the caller (no library text, no
 * secrets); the sandbox sends this message back and logs the cause.
 */
public final class ModelFailedException extends RuntimeException {
  public ModelFailedException(String message) {
    super(message);
  }
}
