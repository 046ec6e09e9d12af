package aimos.cli;

/** A command that could not do its work: exit status 1 and one line on stderr saying what to do next. */
public final class CliFailure extends RuntimeException {
  public CliFailure(String message) {
    super(message, null, false, false);
  }
}
