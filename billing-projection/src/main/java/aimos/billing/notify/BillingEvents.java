package aimos.billing.notify;

import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * Where billing announces what happened: the webhook outbox. The stage completes once the event is durable; from
 * then on it is delivered to each of the tenant's endpoints that subscribe to its type, even across node failures.
 * Publishing is idempotent on {@link BillingEvent#id()}, so whoever publishes after a state change re-publishes when
 * unsure whether an earlier attempt completed.
 */
public interface BillingEvents {
  CompletionStage<Done> publish(BillingEvent event);
}
