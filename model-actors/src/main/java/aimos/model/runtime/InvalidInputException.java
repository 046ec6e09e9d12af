package aimos.model.runtime;

/**
 * Input a model refuses, said in words written for the caller: a sandbox sends this message back as it is. Anything
 * else a runtime throws is logged in the sandbox and reaches the caller only as "the model failed".
 */
public final class InvalidInputException extends IllegalArgumentException {
  public InvalidInputException(String message) {
    super(message);
  }
}
