package aimos.billing.sla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import java.util.List;
import org.junit.jupiter.api.Test;

class SlaCreditTest {
  private static TenantEntity.UsageRecorded usage(String tenant, String month, int i, long latencyMicros,
                                                  long chargeMicros) {
    return new TenantEntity.UsageRecorded(tenant, "req-" + i, "m", "v1", BillingUnit.TOKENS, 20_000,
        Units.tokens(10, 10), 0, chargeMicros, latencyMicros, 1_764_000_000_000L + i, month);
  }

  /** {@code n} requests of 10 micro-dollars each, the first {@code slow} of them over 100 ms. */
  private static SlaCredit.Evidence month(int n, int slow) {
    SlaCredit sla = new SlaCredit("acme", "2026-11");
    for (int i = 0; i < n; i++) {
      sla.add(usage("acme", "2026-11", i, i < slow ? 100_001 : 99_000, 10));
    }
    return sla.evidence();
  }

  @Test
  void moreThanOnePercentOverAHundredMillisecondsEarnsFivePercentOfTheMonthsCharges() {
    SlaCredit.Evidence over = month(10_000, 101);
    assertTrue(over.breached());
    assertEquals(10_000, over.eligible());
    assertEquals(101, over.over());
    assertEquals(100_000, over.chargesMicros());
    assertEquals(5_000, over.creditMicros());
    assertEquals(101, over.overRequestIds().size());
    assertEquals("req-0", over.overRequestIds().get(0));
    assertEquals(101, over.overLatencyMicros().size());
    assertEquals(100_001L, over.overLatencyMicros().get(0), "each id with the latency that put it over");
    assertEquals("1.0100", over.sharePercent().toPlainString());

    SlaCredit.Evidence exactlyOnePercent = month(10_000, 100);
    assertFalse(exactlyOnePercent.breached(), "1% is not more than 1%");
    assertEquals(0, exactlyOnePercent.creditMicros());
    assertEquals(100, exactlyOnePercent.overRequestIds().size(), "the evidence lists them anyway");
  }

  @Test
  void exactlyAHundredMillisecondsIsNotOverAndOtherMonthsAndTenantsDoNotCount() {
    SlaCredit sla = new SlaCredit("acme", "2026-11");
    sla.add(usage("acme", "2026-11", 1, 100_000, 7));
    sla.add(usage("acme", "2026-10", 2, 900_000, 7));
    sla.add(usage("other", "2026-11", 3, 900_000, 7));
    SlaCredit.Evidence e = sla.evidence();
    assertEquals(1, e.eligible());
    assertEquals(0, e.over());
    assertFalse(e.breached());
    assertEquals(List.of(), e.overRequestIds());
  }

  @Test
  void theCreditRoundsHalfAMicroDollarUpAndAnEmptyMonthEarnsNothing() {
    SlaCredit sla = new SlaCredit("acme", "2026-11");
    sla.add(usage("acme", "2026-11", 1, 200_000, 10));
    sla.add(usage("acme", "2026-11", 2, 1_000, 20));
    // 5% of 30 is 1.5 micro-dollars
    assertEquals(2, sla.evidence().creditMicros());
    SlaCredit.Evidence none = new SlaCredit("acme", "2026-11").evidence();
    assertFalse(none.breached());
    assertEquals(0, none.creditMicros());
    assertEquals("0", none.sharePercent().toPlainString());
  }
}
