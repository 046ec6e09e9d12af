package aimos.node.logging;

import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.spi.LifeCycle;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusListener;

/**
 * Prints Logback's own warnings and errors, and only those, to standard error; with a status listener installed,
 * Logback no longer prints its configuration report on standard output, which stays log lines (or JSON objects) only.
 */
public final class WarningStatusListener extends ContextAwareBase implements StatusListener, LifeCycle {
  private volatile boolean started;

  @Override
  public void addStatusEvent(Status status) {
    if (started && status.getEffectiveLevel() >= Status.WARN) {
      System.err.println("logback: " + status);
    }
  }

  @Override
  public boolean isResetResistant() {
    return false;
  }

  @Override
  public void start() {
    started = true;
  }

  @Override
  public void stop() {
    started = false;
  }

  @Override
  public boolean isStarted() {
    return started;
  }
}
