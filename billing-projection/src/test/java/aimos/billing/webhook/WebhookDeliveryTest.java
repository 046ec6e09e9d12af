package aimos.billing.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.notify.BillingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Webhooks end to end on a real Cassandra and real HTTP receivers: signed deliveries, retries, 410, a hanging
 * receiver beside a healthy one, and the outbox carrying on in another node after the first one stopped mid-retry.
 */
class WebhookDeliveryTest {
  private static final Logger log = LoggerFactory.getLogger(WebhookDeliveryTest.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger tenants = new AtomicInteger();
  /** Compressed schedule; a long request timeout, so a dispatcher that waited for a hanging receiver would show. */
  static final String FAST = """
      aimos.webhooks.retry-schedule = [0s, 300ms, 300ms, 300ms, 300ms]
      aimos.webhooks.poll-interval = 100ms
      aimos.webhooks.request-timeout = 30s
      """;
  private static WebhookNode node;

  @BeforeAll
  static void start() {
    node = new WebhookNode(WebhookNode.keyspace("webhooks_test"), FAST);
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  private static String tenant() {
    return "wh-" + tenants.incrementAndGet();
  }

  private static <T> T join(java.util.concurrent.CompletionStage<T> stage) {
    return stage.toCompletableFuture().join();
  }

  private static BillingEvent alert(String tenant, int percent) {
    return new BillingEvent("budget.threshold_crossed:" + tenant + ":2026-12:" + percent, tenant,
        BillingEvent.BUDGET_THRESHOLD_CROSSED, Instant.parse("2026-12-03T10:15:30Z"),
        "{\"tenantId\":\"" + tenant + "\",\"month\":\"2026-12\",\"thresholdPercent\":" + percent + "}");
  }

  private static void await(Runnable check) {
    TestProbe.create(node.kit.system()).awaitAssert(WebhookNode.patience(), Duration.ofMillis(50), () -> {
      check.run();
      return null;
    });
  }

  /** The receiver's own check, written from the specification, not with the sender's code. */
  static boolean verifies(String secret, Receiver.Request r) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring("whsec_".length())), "HmacSHA256"));
    String expected = "v1," + Base64.getEncoder().encodeToString(mac.doFinal(
        (r.webhookId() + "." + r.timestamp() + "." + r.body()).getBytes(StandardCharsets.UTF_8)));
    return Arrays.asList(r.signature().split(" ")).contains(expected);
  }

  @Test
  void deliversSignedEventsOnceThatTheReceiverVerifies() throws Exception {
    String tenant = tenant();
    try (Receiver receiver = new Receiver(200)) {
      var created = join(node.webhooks.endpoints().register(tenant, receiver.url(),
          List.of(BillingEvent.BUDGET_THRESHOLD_CROSSED), "alerts"));
      String secret = created.secret();
      BillingEvent event = alert(tenant, 80);
      long t0 = System.nanoTime();
      join(node.webhooks.outbox().publish(event));
      await(() -> assertEquals(1, receiver.succeeded().size()));
      log.info("delivered {} ms after publishing", (receiver.succeeded().get(0).atNanos() - t0) / 1_000_000);
      Receiver.Request r = receiver.succeeded().get(0);
      assertEquals(WebhookSignature.webhookId(event.id()), r.webhookId());
      assertTrue(verifies(secret, r), "the receiver verifies the signature");
      assertTrue(Math.abs(Long.parseLong(r.timestamp()) - Instant.now().getEpochSecond()) < 300);
      JsonNode body = JSON.readTree(r.body());
      assertEquals("budget.threshold_crossed", body.get("type").asText());
      assertEquals("2026-12-03T10:15:30Z", body.get("timestamp").asText());
      assertEquals(80, body.get("data").get("thresholdPercent").asInt());

      // publishing the same id again (a publisher retrying after a crash) queues nothing and sends nothing
      join(node.webhooks.outbox().publish(event));
      int bucket = WebhookSettings.bucketOf(tenant, created.endpoint().id());
      assertTrue(join(node.webhooks.store().pending(bucket, 1000)).stream()
          .noneMatch(p -> p.eventId().equals(event.id())));
      // an event type the endpoint does not subscribe to is not delivered to it
      join(node.webhooks.outbox().publish(new BillingEvent("invoice.finalized:X-1", tenant,
          BillingEvent.INVOICE_FINALIZED, Instant.now(), "{\"number\":\"X-1\"}")));
      BillingEvent second = alert(tenant, 100);
      join(node.webhooks.outbox().publish(second));
      await(() -> assertEquals(2, receiver.succeeded().size()));
      assertEquals(List.of(WebhookSignature.webhookId(event.id()), WebhookSignature.webhookId(second.id())),
          receiver.answered().stream().map(Receiver.Request::webhookId).toList());
      var deliveries = join(node.webhooks.endpoints().deliveries(tenant, created.endpoint().id(), Optional.empty()));
      assertEquals(2, deliveries.size());
      for (var d : deliveries) {
        assertEquals("delivered", d.status());
        assertEquals(1, d.attemptLog().size());
        assertEquals(200, d.attemptLog().get(0).status());
      }
    }
  }

  @Test
  void retriesOnTheScheduleUntilTheReceiverAcceptsWithTheSameWebhookId() throws Exception {
    String tenant = tenant();
    try (Receiver receiver = new Receiver(500, 503, 200)) {
      var created = join(node.webhooks.endpoints().register(tenant, receiver.url(), null, null));
      BillingEvent event = alert(tenant, 50);
      long t0 = System.nanoTime();
      join(node.webhooks.outbox().publish(event));
      await(() -> assertEquals(1, receiver.succeeded().size()));
      List<Receiver.Request> all = receiver.answered();
      log.info("delivered after {} attempts, {} ms after publishing", all.size(),
          (all.get(all.size() - 1).atNanos() - t0) / 1_000_000);
      assertEquals(List.of(500, 503, 200), all.stream().map(Receiver.Request::answered).toList());
      assertEquals(1, all.stream().map(Receiver.Request::webhookId).distinct().count());
      for (Receiver.Request r : all) {
        assertTrue(verifies(created.secret(), r));
      }
      await(() -> {
        var d = join(node.webhooks.endpoints().deliveries(tenant, created.endpoint().id(), Optional.of("10"))).get(0);
        assertEquals("delivered", d.status());
        assertEquals(List.of(500, 503, 200), d.attemptLog().stream().map(a -> a.status()).toList());
        assertEquals("HTTP 500", d.attemptLog().get(0).error());
      });
    }
  }

  @Test
  void aRetryAfterLongerThanTheScheduleIsHonoured() {
    String tenant = tenant();
    try (Receiver receiver = new Receiver(503, 200)) {
      receiver.retryAfter = "2";
      var created = join(node.webhooks.endpoints().register(tenant, receiver.url(), null, null));
      join(node.webhooks.outbox().publish(alert(tenant, 50)));
      await(() -> {
        var d = join(node.webhooks.endpoints().deliveries(tenant, created.endpoint().id(), Optional.empty())).get(0);
        assertEquals("delivered", d.status());
        var log = d.attemptLog();
        // the schedule alone would retry after about 300 ms
        assertTrue(Duration.between(Instant.parse(log.get(0).attemptedAt()), Instant.parse(log.get(1).attemptedAt()))
            .compareTo(Duration.ofSeconds(2)) >= 0, log.toString());
      });
    }
    assertEquals(Duration.ofHours(10), WebhookSender.retryAfter("999999"));
    assertEquals(null, WebhookSender.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT"));
    assertEquals(null, WebhookSender.retryAfter("-5"));
  }

  @Test
  void givesUpWhenTheScheduleRunsOut() {
    String tenant = tenant();
    try (Receiver receiver = new Receiver(500)) {
      var created = join(node.webhooks.endpoints().register(tenant, receiver.url(), null, null));
      join(node.webhooks.outbox().publish(alert(tenant, 50)));
      await(() -> {
        var d = join(node.webhooks.endpoints().deliveries(tenant, created.endpoint().id(), Optional.empty())).get(0);
        assertEquals("failed", d.status());
        assertEquals(node.settings.maxAttempts(), d.attemptLog().size());
      });
      assertEquals(node.settings.maxAttempts(), receiver.arrived());
    }
  }

  @Test
  void anEndpointThatAnswers410IsDisabled() {
    String tenant = tenant();
    try (Receiver receiver = new Receiver(410)) {
      var created = join(node.webhooks.endpoints().register(tenant, receiver.url(), null, null));
      String id = created.endpoint().id();
      join(node.webhooks.outbox().publish(alert(tenant, 50)));
      await(() -> assertFalse(join(node.webhooks.endpoints().get(tenant, id)).enabled()));
      var endpoint = join(node.webhooks.endpoints().get(tenant, id));
      assertTrue(endpoint.disabledReason().contains("410"), endpoint.disabledReason());
      await(() -> assertEquals("failed",
          join(node.webhooks.endpoints().deliveries(tenant, id, Optional.empty())).get(0).status()));
      // later events are not queued for a disabled endpoint; enabling it again resumes deliveries
      join(node.webhooks.outbox().publish(alert(tenant, 80)));
      assertEquals(1, join(node.webhooks.endpoints().deliveries(tenant, id, Optional.empty())).size());
      assertEquals(1, receiver.arrived());
      receiver.answer(200);
      assertTrue(join(node.webhooks.endpoints().enable(tenant, id)).enabled());
      join(node.webhooks.outbox().publish(alert(tenant, 100)));
      await(() -> assertEquals(1, receiver.succeeded().size()));
    }
  }

  @Test
  void aHangingReceiverHoldsOnlyItsOwnSlotsAndDoesNotDelayAnotherEndpoint() {
    String tenant = tenant();
    try (Receiver hanging = Receiver.hanging(); Receiver healthy = new Receiver(200)) {
      join(node.webhooks.endpoints().register(tenant, hanging.url(), null, "hangs"));
      join(node.webhooks.endpoints().register(tenant, healthy.url(), null, "healthy"));
      for (int p = 1; p <= 6; p++) {
        join(node.webhooks.outbox().publish(alert(tenant, p)));
      }
      // all six reach the healthy endpoint while the hanging one holds its requests (the timeout is 30 s)
      await(() -> assertEquals(6, healthy.succeeded().size()));
      assertTrue(hanging.arrived() >= 1);
      assertTrue(hanging.answered().isEmpty());
      // and the hanging endpoint never has more than its share in flight
      assertTrue(hanging.arrived() <= node.settings.maxInFlightPerEndpoint(), "in flight: " + hanging.arrived());
      hanging.release();
      await(() -> assertEquals(6, hanging.succeeded().size()));
    }
  }

  @Test
  void refusesBadEndpointsWithAPreciseReasonAndStoresNothing() {
    String tenant = tenant();
    for (Supplier<CompletionStage<?>> bad : List.<Supplier<CompletionStage<?>>>of(
        () -> node.webhooks.endpoints().register(tenant, "ftp://127.0.0.1/x", null, null),
        () -> node.webhooks.endpoints().register(tenant, "http://127.0.0.1:9/x", List.of("invoice.paid"), null),
        () -> node.webhooks.endpoints().register(tenant, "http://127.0.0.1:9/x", List.of(), null),
        () -> node.webhooks.endpoints().register(tenant, "http://127.0.0.1:9/x", null, "d".repeat(201)),
        () -> node.webhooks.endpoints().get(tenant, "not-an-id"),
        () -> node.webhooks.endpoints().deliveries(tenant, "ep_0123456789abcdef", Optional.of("0")))) {
      var e = assertInstanceOf(WebhookException.class, unwrap(bad));
      assertEquals(WebhookException.Kind.INVALID, e.kind(), e.getMessage());
    }
    var missing = assertInstanceOf(WebhookException.class,
        unwrap(() -> node.webhooks.endpoints().get(tenant, "ep_0123456789abcdef")));
    assertEquals(WebhookException.Kind.NOT_FOUND, missing.kind());
    assertTrue(join(node.webhooks.endpoints().list(tenant)).isEmpty());
  }

  @Test
  void rotationSignsWithBothSecretsDuringTheOverlap() throws Exception {
    String tenant = tenant();
    try (Receiver receiver = new Receiver(200)) {
      var created = join(node.webhooks.endpoints().register(tenant, receiver.url(), null, null));
      var rotated = join(node.webhooks.endpoints().rotateSecret(tenant, created.endpoint().id()));
      assertFalse(rotated.secret().equals(created.secret()));
      assertNotNull(rotated.endpoint().previousSecretValidUntil());
      join(node.webhooks.outbox().publish(alert(tenant, 50)));
      await(() -> assertEquals(1, receiver.succeeded().size()));
      Receiver.Request r = receiver.succeeded().get(0);
      assertEquals(2, r.signature().split(" ").length);
      assertTrue(verifies(created.secret(), r));
      assertTrue(verifies(rotated.secret(), r));
      // the listing never shows a secret
      String listed = JSON.writeValueAsString(join(node.webhooks.endpoints().list(tenant)));
      assertFalse(listed.contains(rotated.secret().substring(6)) || listed.contains(created.secret().substring(6)));
    }
  }

  @Test
  void aBucketIsReadInPagesInKeyOrder() {
    // a bucket no dispatcher owns, so that these rows stay where they are
    int bucket = WebhookSettings.DISPATCHERS + 100;
    Instant due = Instant.parse("2026-12-01T00:00:00Z");
    for (String event : List.of("e1", "e2", "e3")) {
      join(node.webhooks.store().schedule(new WebhookStore.Pending(bucket, "paged", "ep_0000000000000001", event,
          due)));
    }
    var first = join(node.webhooks.store().pending(bucket, 2));
    assertEquals(List.of("e1", "e2"), first.stream().map(WebhookStore.Pending::eventId).toList());
    var next = join(node.webhooks.store().pendingAfter(first.get(1), 2));
    assertEquals(List.of("e3"), next.stream().map(WebhookStore.Pending::eventId).toList());
    assertTrue(join(node.webhooks.store().pendingAfter(next.get(0), 2)).isEmpty());
  }

  private static Throwable unwrap(Supplier<CompletionStage<?>> call) {
    try {
      call.get().toCompletableFuture().join();
    } catch (CompletionException e) {
      return e.getCause();
    } catch (RuntimeException e) {
      return e;
    }
    throw new AssertionError("was accepted");
  }
}
