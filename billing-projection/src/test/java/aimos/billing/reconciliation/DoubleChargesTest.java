package aimos.billing.reconciliation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import aimos.tenant.TenantEntity;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A second charge of a request id is a fault only while the tenant still remembered the first one. */
class DoubleChargesTest {
  private static final long HOUR = 3_600_000L;

  @Test
  void aSecondChargeWithinTheWindowIsFound() {
    DoubleCharges charges = new DoubleCharges();
    charges.see("a", 0);
    charges.see("b", 1);
    charges.see("a", 2);
    charges.see("c", 3);
    assertEquals(List.of("a"), charges.requestIds());
  }

  @Test
  void anIdReusedAfterTheWindowsCountOfNewerRequestsIsANewRequest() {
    DoubleCharges charges = new DoubleCharges();
    charges.see("reused", 0);
    for (int i = 0; i < TenantEntity.DEDUP_WINDOW; i++) {
      charges.see("r" + i, 1);
    }
    // DEDUP_WINDOW newer ids were recorded: the tenant forgot the first charge, the reuse ran and was billed again
    charges.see("reused", 2);
    assertEquals(List.of(), charges.requestIds());

    DoubleCharges oneLess = new DoubleCharges();
    oneLess.see("reused", 0);
    for (int i = 0; i < TenantEntity.DEDUP_WINDOW - 1; i++) {
      oneLess.see("r" + i, 1);
    }
    oneLess.see("reused", 2);
    assertEquals(List.of("reused"), oneLess.requestIds(), "one newer request less: still remembered");
  }

  @Test
  void anIdReusedAfterTheHorizonIsANewRequest() {
    long horizon = TenantEntity.DEDUP_HORIZON.toMillis();
    DoubleCharges charges = new DoubleCharges();
    charges.see("late", 0);
    charges.see("late", horizon);
    charges.see("early", HOUR);
    charges.see("early", HOUR + horizon - 1);
    assertEquals(List.of("early"), charges.requestIds());
  }

  @Test
  void aThirdChargeIsComparedWithTheSecond() {
    long horizon = TenantEntity.DEDUP_HORIZON.toMillis();
    DoubleCharges charges = new DoubleCharges();
    charges.see("x", 0);
    charges.see("x", 2 * horizon);
    assertEquals(List.of(), charges.requestIds());
    charges.see("x", 2 * horizon + HOUR);
    assertEquals(List.of("x"), charges.requestIds());
  }
}
