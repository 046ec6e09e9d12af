package aimos.billing.webhook;

import aimos.billing.notify.BillingEvent;
import aimos.billing.notify.BillingEvents;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * The durable webhook outbox behind {@link BillingEvents}: publishing writes the event (its signed body, once) and one
 * pending delivery per enabled endpoint of the tenant that subscribes to its type; the stage completes when all of
 * that is in Cassandra. Publishing an id again writes nothing new, and re-queues only deliveries still pending (a
 * publisher that crashed half-way through completes its fan-out; nothing delivered is sent again).
 */
public final class WebhookOutbox implements BillingEvents {
  public static final Set<String> EVENT_TYPES = Set.of(BillingEvent.INVOICE_FINALIZED, BillingEvent.CREDIT_NOTE_CREATED,
      BillingEvent.BUDGET_THRESHOLD_CROSSED, BillingEvent.SLA_CREDIT_ISSUED);
  /** Standard Webhooks recommends small payloads; billing events are far below this. */
  static final int MAX_BODY_CHARS = 64 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final WebhookStore store;
  private final Clock clock;

  public WebhookOutbox(WebhookStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  @Override
  public CompletionStage<Done> publish(BillingEvent event) {
    String body;
    try {
      body = body(event);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
    Instant now = clock.instant();
    WebhookStore.StoredEvent stored = new WebhookStore.StoredEvent(event.id(), event.tenantId(), event.type(),
        event.occurredAt(), body);
    return store.insertEvent(stored, now)
        .thenCompose(written -> store.endpoints(event.tenantId()))
        .thenCompose(endpoints -> {
          List<CompletableFuture<Done>> fanOut = new ArrayList<>();
          for (WebhookStore.Endpoint e : endpoints) {
            if (e.enabled() && e.eventTypes().contains(event.type())) {
              fanOut.add(enqueue(e, event, now).toCompletableFuture());
            }
          }
          return CompletableFuture.allOf(fanOut.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
        });
  }

  private CompletionStage<Done> enqueue(WebhookStore.Endpoint e, BillingEvent event, Instant now) {
    WebhookStore.Delivery fresh = new WebhookStore.Delivery(e.tenantId(), e.endpointId(), event.id(),
        WebhookSignature.webhookId(event.id()), event.type(), WebhookStore.Status.PENDING, 0, now, 0, null, now, null);
    int bucket = WebhookSettings.bucketOf(e.tenantId(), e.endpointId());
    return store.insertIfAbsent(fresh).thenCompose(existing -> {
      if (existing.isEmpty()) {
        return store.schedule(new WebhookStore.Pending(bucket, e.tenantId(), e.endpointId(), event.id(), now));
      }
      WebhookStore.Delivery d = existing.get();
      return d.status() == WebhookStore.Status.PENDING
          ? store.schedule(new WebhookStore.Pending(bucket, e.tenantId(), e.endpointId(), event.id(),
              d.nextAttemptAt() == null ? now : d.nextAttemptAt()))
          : CompletableFuture.completedFuture(Done.getInstance());
    });
  }

  /** {@code {"type": ..., "timestamp": ..., "data": {...}}}, minified: the bytes every attempt signs and sends. */
  static String body(BillingEvent event) {
    if (!EVENT_TYPES.contains(event.type())) {
      throw new IllegalArgumentException("unknown webhook event type '" + event.type() + "'; known: "
          + new java.util.TreeSet<>(EVENT_TYPES));
    }
    JsonNode data;
    try {
      data = JSON.readTree(event.dataJson());
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("event " + event.id() + ": data is not valid JSON: " + e.getOriginalMessage());
    }
    if (data == null || !data.isObject()) {
      throw new IllegalArgumentException("event " + event.id() + ": data must be a JSON object");
    }
    ObjectNode root = JSON.createObjectNode();
    root.put("type", event.type());
    root.put("timestamp", event.occurredAt().toString());
    root.set("data", data);
    String body = root.toString();
    if (body.length() > MAX_BODY_CHARS) {
      throw new IllegalArgumentException("event " + event.id() + ": body of " + body.length() + " characters is over "
          + MAX_BODY_CHARS);
    }
    return body;
  }
}
