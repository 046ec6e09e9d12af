package aimos.billing.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.notify.BillingEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbox outlives the node that delivers it: a node stopped between retries leaves its delivery in Cassandra, and
 * the next node to run the dispatchers sends it, with the same webhook id, and exactly one attempt succeeds.
 */
class WebhookRestartTest {
  private static final Logger log = LoggerFactory.getLogger(WebhookRestartTest.class);

  @Test
  void aDeliveryInterruptedMidRetryIsCompletedByTheNextNodeWithTheSameWebhookId() throws Exception {
    String keyspace = WebhookNode.keyspace("webhooks_restart");
    // one second between retries: the first node is stopped while the delivery waits for its next attempt
    String config = """
        aimos.webhooks.retry-schedule = [0s, 200ms, 1s, 1s, 1s, 1s, 1s, 1s]
        aimos.webhooks.poll-interval = 100ms
        """;
    String tenant = "restart";
    BillingEvent event = new BillingEvent("sla.credit_issued:restart:2026-11", tenant,
        BillingEvent.SLA_CREDIT_ISSUED, Instant.parse("2026-12-01T00:00:05Z"), "{\"month\":\"2026-11\"}");
    try (Receiver receiver = new Receiver(503)) {
      String endpointId;
      String secret;
      String firstNode;
      try (WebhookNode first = new WebhookNode(keyspace, config)) {
        var created = first.webhooks.endpoints().register(tenant, receiver.url(), null, null).toCompletableFuture()
            .join();
        endpointId = created.endpoint().id();
        secret = created.secret();
        first.webhooks.outbox().publish(event).toCompletableFuture().join();
        TestProbe.create(first.kit.system()).awaitAssert(WebhookNode.patience(), Duration.ofMillis(20), () -> {
          assertTrue(receiver.answered().size() >= 2);
          return null;
        });
        firstNode = first.kit.system().address().hostPort();
      }
      int failedBefore = receiver.answered().size();
      receiver.answer(200);
      long restartedAt = System.nanoTime();
      try (WebhookNode second = new WebhookNode(keyspace, config)) {
        TestProbe.create(second.kit.system()).awaitAssert(WebhookNode.patience(), Duration.ofMillis(50), () -> {
          assertEquals(1, receiver.succeeded().size());
          return null;
        });
        log.info("after the restart, delivered {} ms after the second node started; {} failed attempts before",
            (receiver.succeeded().get(0).atNanos() - restartedAt) / 1_000_000, failedBefore);
        List<Receiver.Request> all = receiver.answered();
        assertEquals(1, all.stream().map(Receiver.Request::webhookId).distinct().count(), "one webhook id");
        assertEquals(WebhookSignature.webhookId(event.id()), all.get(0).webhookId());
        assertTrue(WebhookDeliveryTest.verifies(secret, receiver.succeeded().get(0)));
        TestProbe.create(second.kit.system()).awaitAssert(WebhookNode.patience(), Duration.ofMillis(50), () -> {
          var d = second.webhooks.endpoints().deliveries(tenant, endpointId, Optional.empty()).toCompletableFuture()
              .join().get(0);
          assertEquals("delivered", d.status());
          assertEquals(all.size(), d.attemptLog().size());
          // the log says which node made each attempt
          assertEquals(firstNode, d.attemptLog().get(0).node());
          assertNotEquals(firstNode, d.attemptLog().get(d.attemptLog().size() - 1).node());
          return null;
        });
        // published again after the restart (a publisher unsure whether it had): still one successful delivery
        second.webhooks.outbox().publish(event).toCompletableFuture().join();
        assertTrue(second.webhooks.store().pending(WebhookSettings.bucketOf(tenant, endpointId), 1000)
            .toCompletableFuture().join().isEmpty());
        assertEquals(1, receiver.succeeded().size());
      }
    }
  }
}
