package aimos.billing.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.notify.BillingEvent;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class WebhookOutboxTest {
  private static BillingEvent event(String type, String data) {
    return new BillingEvent("x:1", "acme", type, Instant.parse("2026-12-01T00:00:00Z"), data);
  }

  @Test
  void theBodyIsTypeTimestampAndDataMinified() {
    assertEquals("{\"type\":\"invoice.finalized\",\"timestamp\":\"2026-12-01T00:00:00Z\",\"data\":{\"number\":"
            + "\"AIMOS-2026-000001\",\"totalUsd\":\"12.50\"}}",
        WebhookOutbox.body(event("invoice.finalized",
            "{ \"number\": \"AIMOS-2026-000001\", \"totalUsd\": \"12.50\" }")));
  }

  @Test
  void refusesUnknownTypesDataThatIsNotAnObjectAndOversizedBodies() {
    for (BillingEvent bad : new BillingEvent[] {event("invoice.paid", "{}"), event("invoice.finalized", "[1]"),
        event("invoice.finalized", "{\"a\":"), event("invoice.finalized", "{\"a\":\"" + "x".repeat(70_000) + "\"}")}) {
      var e = assertThrows(IllegalArgumentException.class, () -> WebhookOutbox.body(bad));
      assertTrue(e.getMessage().contains("type") || e.getMessage().contains("data") || e.getMessage().contains("body"),
          e.getMessage());
    }
  }
}
