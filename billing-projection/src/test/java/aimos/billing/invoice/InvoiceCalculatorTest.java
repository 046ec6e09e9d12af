package aimos.billing.invoice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.Units;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InvoiceCalculatorTest {
  private static final String[] MODELS = {"chat", "vision", "speech", "embed"};

  /** Random months of requests, priced as the tenant entity prices them (volume discount included). */
  @Test
  void linesSumToTheChargedTotalToTheMicroDollarOverRandomUsage() {
    for (long seed = 1; seed <= 300; seed++) {
      Random rnd = new Random(seed);
      PriceCatalog prices = new PriceCatalog(rnd.nextInt(100_000), rnd.nextInt(50_000), rnd.nextInt(500_000),
          rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(200_000), rnd.nextInt(101));
      InvoiceCalculator calc = new InvoiceCalculator();
      long monthTokens = 0;
      long charged = 0;
      boolean discounted = false;
      int n = rnd.nextInt(400);
      for (int i = 0; i < n; i++) {
        String model = MODELS[rnd.nextInt(MODELS.length)];
        BillingUnit unit = switch (model) {
          case "vision" -> BillingUnit.IMAGES;
          case "speech" -> BillingUnit.AUDIO_MINUTES;
          default -> BillingUnit.TOKENS;
        };
        Units units = switch (unit) {
          case IMAGES -> new Units(0, 0, 1 + rnd.nextInt(4), 0);
          case AUDIO_MINUTES -> Units.audio(1 + rnd.nextInt(600_000));
          default -> Units.tokens(rnd.nextInt(5_000), rnd.nextInt(5_000));
        };
        long unitPrice = rnd.nextInt(4) == 0 ? rnd.nextInt(1_000_000) : prices.defaultUnitPriceMicros(unit);
        long before = unit == BillingUnit.TOKENS ? monthTokens : 0;
        long charge = prices.chargeMicros(unit, unitPrice, units, before);
        if (unit == BillingUnit.TOKENS) {
          discounted |= prices.discountPercent() > 0 && before + units.tokens() > prices.discountThresholdTokens()
              && unitPrice > 0;
          monthTokens += units.tokens();
        }
        charged += charge;
        calc.add(new LedgerRow("acme", "2026-11", "Tenant|acme", i + 1, "r" + i, model, "v" + rnd.nextInt(3), unit,
            unitPrice, units, before, charge, 0));
      }
      long sla = rnd.nextInt(3) == 0 ? rnd.nextInt(1_000_000) : 0;
      List<InvoiceLine> lines = calc.lines(sla);
      assertEquals(charged - sla, InvoiceCalculator.sum(lines), "seed " + seed);
      assertEquals(charged, calc.chargedMicros(), "seed " + seed);
      long discount = lines.stream().filter(l -> l.kind().equals(InvoiceLine.VOLUME_DISCOUNT))
          .mapToLong(InvoiceLine::amountMicros).sum();
      assertTrue(discount <= 0, "seed " + seed + ": a discount never adds, was " + discount);
      if (!discounted) {
        assertEquals(0, discount, "seed " + seed + ": no request was discounted");
      }
      assertEquals(n, lines.stream().filter(l -> l.kind().equals(InvoiceLine.USAGE))
          .mapToLong(InvoiceLine::requests).sum());
    }
  }

  @Test
  void theSeedPricesGiveAVolumeDiscountLineOfTenPercentOfTheTokensBeyondOneMillion() {
    PriceCatalog seed = PriceCatalog.seed();
    InvoiceCalculator calc = new InvoiceCalculator();
    // 900k tokens, then 200k of which 100k are beyond the threshold
    long c1 = seed.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(900_000, 0), 0);
    long c2 = seed.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(100_000, 100_000), 900_000);
    calc.add(new LedgerRow("acme", "2026-11", "p", 1, "a", "chat", "v1", BillingUnit.TOKENS, 20_000,
        Units.tokens(900_000, 0), 0, c1, 0));
    calc.add(new LedgerRow("acme", "2026-11", "p", 2, "b", "chat", "v1", BillingUnit.TOKENS, 20_000,
        Units.tokens(100_000, 100_000), 900_000, c2, 0));
    List<InvoiceLine> lines = calc.lines(0);
    assertEquals(2, lines.size());
    assertEquals("1100.000", lines.get(0).quantity());
    assertEquals(22_000_000, lines.get(0).amountMicros());
    assertEquals(InvoiceLine.VOLUME_DISCOUNT, lines.get(1).kind());
    assertEquals(-200_000, lines.get(1).amountMicros());
    assertEquals(21_800_000, InvoiceCalculator.sum(lines));
  }
}
