package aimos.billing.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.tenant.Units;
import aimos.tenant.UsagePricer;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PriceBookTest {
  static final long DEC_15 = Instant.parse("2026-12-15T00:00:00Z").toEpochMilli();
  static final long JAN_1 = Instant.parse("2027-01-01T00:00:00Z").toEpochMilli();
  static final PriceCatalog SEED = PriceCatalog.seed();
  static final PriceCatalog DEARER = new PriceCatalog(30_000, 20_000, 200_000, 2_000_000, 15);

  static PriceBook threeLists() {
    return PriceBook.of(List.of(
        new PriceList(1, 0, SEED, Map.of(), 0),
        new PriceList(2, DEC_15, DEARER, Map.of("demo-text", 50_000L), 1),
        new PriceList(3, JAN_1, SEED, Map.of(), 2)));
  }

  @Test
  void theListInForceIsTheLatestEffectiveAtOrBeforeTheInstant() {
    PriceBook book = threeLists();
    assertEquals(1, book.inForceAt(0).id());
    assertEquals(1, book.inForceAt(DEC_15 - 1).id());
    assertEquals(2, book.inForceAt(DEC_15).id(), "a list is in force from its effective instant on");
    assertEquals(2, book.inForceAt(JAN_1 - 1).id());
    assertEquals(3, book.inForceAt(JAN_1).id());
    assertEquals(3, book.inForceAt(Long.MAX_VALUE).id());
    assertEquals(3, book.version());
    assertEquals(List.of(2L, 3L), book.after(1).stream().map(PriceList::id).toList());
    assertEquals(List.of(), book.after(3));
    assertThrows(IllegalStateException.class, () -> PriceBook.of(List.of(new PriceList(1, 10, SEED, Map.of(), 0)))
        .inForceAt(9));
  }

  @Test
  void aListPricesItsModelsAtItsOwnPriceAndOthersAtTheirVersionsPriceWithItsDiscount() {
    PriceBook book = threeLists();
    Units thousand = Units.tokens(600, 400);
    assertEquals(new UsagePricer.Charge(20_000, 20_000, 1),
        book.inForceAt(DEC_15 - 1).charge("demo-text", BillingUnit.TOKENS, 20_000, thousand, 0));
    assertEquals(new UsagePricer.Charge(50_000, 50_000, 2),
        book.inForceAt(DEC_15).charge("demo-text", BillingUnit.TOKENS, 20_000, thousand, 0));
    assertEquals(new UsagePricer.Charge(20_000, 20_000, 2),
        book.inForceAt(DEC_15).charge("other", BillingUnit.TOKENS, 20_000, thousand, 0));
    // list 2's discount: 15% off past 2M tokens (list 1 would give 10% off past 1M)
    assertEquals(17_000, book.inForceAt(DEC_15).charge("other", BillingUnit.TOKENS, 20_000, thousand, 2_000_000)
        .chargeMicros());
    assertEquals(20_000, book.inForceAt(DEC_15).charge("other", BillingUnit.TOKENS, 20_000, thousand, 1_500_000)
        .chargeMicros());
    assertEquals(18_000, book.inForceAt(0).charge("other", BillingUnit.TOKENS, 20_000, thousand, 1_500_000)
        .chargeMicros());
  }

  @Test
  void refusesAListThatTakesEffectBeforeEveryNodeCanKnowItOrNotAfterTheLatest() {
    PriceBook book = threeLists();
    Duration lead = Duration.ofSeconds(60);
    long now = JAN_1 + 1_000;
    PriceListDraft tooSoon = new PriceListDraft(now + 59_999, SEED, Map.of());
    String reason = book.refusal(tooSoon, now, lead).orElseThrow();
    assertTrue(reason.contains("too soon") && reason.contains("60 s") && reason.contains("price-change-lead"), reason);
    assertTrue(book.refusal(new PriceListDraft(now + 60_000, SEED, Map.of()), now, lead).isEmpty(),
        "exactly the lead is enough");

    long earlyNow = DEC_15 - 3_600_000;
    String notAfter = book.refusal(new PriceListDraft(JAN_1, SEED, Map.of()), earlyNow, lead).orElseThrow();
    assertTrue(notAfter.contains("later than the latest price list's (id 3"), notAfter);
    assertTrue(book.refusal(new PriceListDraft(DEC_15 + 1, SEED, Map.of()), earlyNow, lead).isPresent(),
        "a list between existing ones would reprice what they price");
    assertTrue(book.refusal(new PriceListDraft(JAN_1 + 1, SEED, Map.of()), earlyNow, lead).isEmpty());
    assertTrue(book.refusal(tooSoon, now, Duration.ofMillis(1500)).isEmpty());
    assertTrue(book.refusal(new PriceListDraft(now + 1_499, SEED, Map.of()), now, Duration.ofMillis(1500)).orElseThrow()
        .contains("1500 ms"));
  }

  @Test
  void listsMustBeAddedInOrder() {
    PriceBook book = threeLists();
    assertThrows(IllegalArgumentException.class, () -> book.with(new PriceList(5, JAN_1 + 1, SEED, Map.of(), 0)));
    assertThrows(IllegalArgumentException.class, () -> book.with(new PriceList(4, JAN_1, SEED, Map.of(), 0)));
    assertEquals(4, book.with(new PriceList(4, JAN_1 + 1, SEED, Map.of(), 0)).version());
    assertEquals(3, book.version(), "books are immutable");
  }

  @Test
  void refusesBadAmounts() {
    assertThrows(IllegalArgumentException.class, () -> new PriceCatalog(-1, 1, 1, 1, 10));
    assertThrows(IllegalArgumentException.class, () -> new PriceCatalog(1, -1, 1, 1, 10));
    assertThrows(IllegalArgumentException.class, () -> new PriceCatalog(1, 1, PriceCatalog.MAX_UNIT_PRICE_MICROS + 1,
        1, 10));
    assertThrows(IllegalArgumentException.class, () -> new PriceCatalog(1, 1, 1, -1, 10));
    assertThrows(IllegalArgumentException.class, () -> new PriceCatalog(1, 1, 1, 1, -1));
    assertThrows(IllegalArgumentException.class, () -> new PriceCatalog(1, 1, 1, 1, 101));
    new PriceCatalog(0, 0, 0, 0, 100);
    var negative = assertThrows(IllegalArgumentException.class,
        () -> new PriceListDraft(1, SEED, Map.of("demo-text", -1L)));
    assertTrue(negative.getMessage().contains("models.demo-text"), negative.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new PriceListDraft(1, SEED, Map.of(" ", 1L)));
    assertThrows(IllegalArgumentException.class, () -> new PriceListDraft(1, null, Map.of()));
    Map<String, Long> many = new HashMap<>();
    for (int i = 0; i <= PriceListDraft.MAX_MODEL_PRICES; i++) {
      many.put("m" + i, 1L);
    }
    assertThrows(IllegalArgumentException.class, () -> new PriceListDraft(1, SEED, many));
    assertThrows(IllegalArgumentException.class, () -> new PriceList(0, 0, SEED, Map.of(), 0));
  }

  @Test
  void settingsReadTheConfiguredListAndRefuseALeadShorterThanThreeRefreshes() {
    var settings = PricingSettings.from(com.typesafe.config.ConfigFactory.load().getConfig("aimos.billing"));
    assertEquals(SEED, settings.configured());
    assertEquals(Duration.ofSeconds(60), settings.lead());
    var tooShort = assertThrows(IllegalArgumentException.class,
        () -> new PricingSettings(SEED, Duration.ofSeconds(10), Duration.ofSeconds(5)));
    assertTrue(tooShort.getMessage().contains("price-change-lead"), tooShort.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new PricingSettings(SEED, Duration.ofSeconds(10), Duration.ZERO));
  }
}
