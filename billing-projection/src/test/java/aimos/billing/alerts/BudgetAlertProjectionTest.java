package aimos.billing.alerts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import aimos.billing.notify.BillingEvent;
import aimos.tenant.TenantEntity;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class BudgetAlertProjectionTest {
  @Test
  void aCrossingIsOneEventPerTenantMonthAndThresholdWithItsFigures() throws Exception {
    var crossed = new TenantEntity.BudgetThresholdCrossed("acme", "2026-12", 80, 100_000_000, 80_000_120,
        1764583200123L, "req-9");
    BillingEvent e = BudgetAlertProjection.toBillingEvent(crossed);
    assertEquals("budget.threshold_crossed:acme:2026-12:80", e.id());
    assertEquals("acme", e.tenantId());
    assertEquals(BillingEvent.BUDGET_THRESHOLD_CROSSED, e.type());
    assertEquals(Instant.ofEpochMilli(1764583200123L), e.occurredAt());
    JsonNode data = new ObjectMapper().readTree(e.dataJson());
    assertEquals(80, data.get("thresholdPercent").asInt());
    assertEquals("100.000000", data.get("budgetUsd").asText());
    assertEquals("80.000120", data.get("spendUsd").asText());
    assertEquals(80_000_120, data.get("spendMicros").asLong());
    assertEquals("req-9", data.get("requestId").asText());
    // the same crossing replayed (or written with other figures by a later attempt) has the same id
    assertEquals(e.id(), BudgetAlertProjection.toBillingEvent(new TenantEntity.BudgetThresholdCrossed("acme",
        "2026-12", 80, 100_000_000, 99_000_000, 1764583299000L, "req-10")).id());
  }
}
