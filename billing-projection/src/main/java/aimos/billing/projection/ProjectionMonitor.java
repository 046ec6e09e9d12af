package aimos.billing.projection;

/** What the billing projection reports after each group of usage events is written to the ledger and rollups. */
@FunctionalInterface
public interface ProjectionMonitor {
  /** Age of the newest usage event of the group, from its {@code recorded_at} to the end of the group's writes. */
  void projectionLagMillis(long millis);

  /**
   * Called once per usage event of the group: from the event's {@code recorded_at} (the moment the caller's answer
   * was metered) to the end of the rollup write that made it visible to usage reads.
   */
  default void usageVisibleAfterMillis(long millis) {}
}
