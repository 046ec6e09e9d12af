package aimos.billing.webhook;

/** Told of every delivery attempt, for metrics. */
public interface WebhookMonitor {
  /** Outcomes: {@code delivered}, {@code retry} (scheduled again), {@code gave_up}, {@code gone} (410). */
  void attempted(String outcome, long durationMillis);

  WebhookMonitor NONE = (outcome, durationMillis) -> { };
}
