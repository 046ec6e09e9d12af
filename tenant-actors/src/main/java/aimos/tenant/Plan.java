package aimos.tenant;

import aimos.serialization.KryoSerializable;

/**
 * A tenant's limits: requests and tokens per minute (token buckets), a monthly budget in micro-dollars and the
 * number of requests it may have in flight at once.
 */
public record Plan(long requestsPerMinute, long tokensPerMinute, long monthlyBudgetMicros, int maxConcurrentRequests)
    implements KryoSerializable {

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
  }
}
