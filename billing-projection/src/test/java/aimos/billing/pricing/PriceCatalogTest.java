package aimos.billing.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import aimos.api.v1.BillingUnit;
import aimos.tenant.Units;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class PriceCatalogTest {
  private final PriceCatalog seed = PriceCatalog.seed();

  @Test
  void seedPricesAreTheAdvertisedOnes() {
    assertEquals(20_000, seed.defaultUnitPriceMicros(BillingUnit.TOKENS));
    assertEquals(10_000, seed.defaultUnitPriceMicros(BillingUnit.IMAGES));
    assertEquals(100_000, seed.defaultUnitPriceMicros(BillingUnit.AUDIO_MINUTES));
    var fromConfig = PriceCatalog.fromConfig(ConfigFactory.load().getConfig("aimos.billing.prices"));
    assertEquals(20_000, fromConfig.defaultUnitPriceMicros(BillingUnit.TOKENS));
    assertEquals(fromConfig.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(600_000, 600_000), 0),
        seed.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(600_000, 600_000), 0));
  }

  @Test
  void tokensCostTwoCentsPerThousandUntilAMillionThenTenPercentLess() {
    assertEquals(20_000, seed.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(400, 600), 0));
    assertEquals(20, seed.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(1, 0), 0));
    // 1 token beyond the threshold: 18 micro-dollars
    assertEquals(18, seed.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(1, 0), 1_000_000));
    // a request that crosses the threshold: 500 at full price, 500 discounted
    assertEquals(500 * 20 + 500 * 18, seed.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(1000, 0), 999_500));
    // a whole month of 2M tokens in one go: $20 + $18
    assertEquals(38_000_000, seed.chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(2_000_000, 0), 0));
  }

  @Test
  void roundsEachChargeHalfEvenToTheMicroDollar() {
    // 1 token at $0.015 per 1k is 15 micro-dollars exactly; at $0.0155 it is 15.5 -> 16 (half-even)
    assertEquals(15, seed.chargeMicros(BillingUnit.TOKENS, 15_000, Units.tokens(1, 0), 0));
    assertEquals(16, seed.chargeMicros(BillingUnit.TOKENS, 15_500, Units.tokens(1, 0), 0));
    assertEquals(14, seed.chargeMicros(BillingUnit.TOKENS, 14_500, Units.tokens(1, 0), 0));
  }

  @Test
  void imagesAndAudioMinutes() {
    assertEquals(30_000, seed.chargeMicros(BillingUnit.IMAGES, 10_000, new Units(0, 0, 3, 0), 0));
    assertEquals(100_000, seed.chargeMicros(BillingUnit.AUDIO_MINUTES, 100_000, new Units(0, 0, 0, 60_000), 0));
    assertEquals(50_000, seed.chargeMicros(BillingUnit.AUDIO_MINUTES, 100_000, new Units(0, 0, 0, 30_000), 0));
    // 1 ms of audio is 1.67 micro-dollars -> 2
    assertEquals(2, seed.chargeMicros(BillingUnit.AUDIO_MINUTES, 100_000, new Units(0, 0, 0, 1), 0));
  }

  @Test
  void refusesNonsense() {
    assertThrows(IllegalArgumentException.class, () -> new PriceCatalog(1, 1, 1, 1, 101));
    assertThrows(IllegalArgumentException.class,
        () -> seed.chargeMicros(BillingUnit.BILLING_UNIT_UNSPECIFIED, 1, Units.tokens(1, 1), 0));
  }
}
