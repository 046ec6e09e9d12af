package aimos.tenant;

/**
 * Where a tenant entity says that it has written usage to its journal: a hint that lets the billing feed read the
 * tenant's new events soon, never the data itself (the feed reads that from the journal). A tenant says it at most
 * once per {@link #GAP}; the feed reads the tenant again a while after each notice to find what the gap held back.
 */
@FunctionalInterface
public interface UsageNotices {
  /** The shortest time between two notices of one tenant (a busy tenant writes many batches a second). */
  java.time.Duration GAP = java.time.Duration.ofMillis(250);

  UsageNotices NONE = tenantId -> { };

  void usageWritten(String tenantId);
}
