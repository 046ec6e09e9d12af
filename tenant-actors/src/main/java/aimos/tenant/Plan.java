package aimos.tenant;

import aimos.serialization.KryoSerializable;

/**
 * A tenant's limits: requests and tokens per minute (token buckets), a monthly budget in micro-dollars, the number
 * of requests it may have in flight at once, and its GPU/CPU quota: how many worker leases it may hold at once.
 */
public record Plan(long requestsPerMinute, long tokensPerMinute, long monthlyBudgetMicros, int maxConcurrentRequests,
                   int maxWorkerLeases) implements KryoSerializable {

  /** A plan whose worker-lease quota equals its concurrency limit. */
  public Plan(long requestsPerMinute, long tokensPerMinute, long monthlyBudgetMicros, int maxConcurrentRequests) {
    this(requestsPerMinute, tokensPerMinute, monthlyBudgetMicros, maxConcurrentRequests, maxConcurrentRequests);
  }

  public Plan {
    if (requestsPerMinute <= 0) {
      throw new IllegalArgumentException("requestsPerMinute must be positive, was " + requestsPerMinute);
    }
    if (tokensPerMinute <= 0) {
      throw new IllegalArgumentException("tokensPerMinute must be positive, was " + tokensPerMinute);
    }
    if (monthlyBudgetMicros <= 0) {
      throw new IllegalArgumentException("monthlyBudget must be positive, was " + monthlyBudgetMicros + " micro-dollars");
    }
    if (maxConcurrentRequests <= 0) {
      throw new IllegalArgumentException("maxConcurrentRequests must be positive, was " + maxConcurrentRequests);
    }
    if (maxWorkerLeases <= 0) {
      throw new IllegalArgumentException("maxWorkerLeases must be positive, was " + maxWorkerLeases);
    }
  }
}
