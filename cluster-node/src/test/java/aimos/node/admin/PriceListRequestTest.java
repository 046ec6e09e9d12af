package aimos.node.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.pricing.PriceCatalog;
import aimos.billing.pricing.PriceListDraft;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PriceListRequestTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode json(String s) {
    try {
      return JSON.readTree(s);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String refusal(String body) {
    return assertThrows(IllegalArgumentException.class, () -> PriceListRequest.parse(json(body))).getMessage();
  }

  @Test
  void readsAPriceListInExactMicroDollars() {
    PriceListDraft d = PriceListRequest.parse(json(PriceListRequest.EXAMPLE));
    assertEquals(Instant.parse("2026-12-15T00:00:00Z").toEpochMilli(), d.effectiveFromMillis());
    assertEquals(new PriceCatalog(30_000, 10_000, 100_000, 1_000_000, 10), d.prices());
    assertEquals(Map.of("demo-text", 50_000L), d.modelUnitPrices());
    PriceListDraft noModels = PriceListRequest.parse(json(PriceListRequest.EXAMPLE
        .replace(", \"models\": {\"demo-text\": \"0.05\"}", "")));
    assertEquals(Map.of(), noModels.modelUnitPrices());
    assertEquals(1, PriceListRequest.parse(json(PriceListRequest.EXAMPLE.replace("\"0.01\"", "\"0.000001\"")))
        .prices().imageMicros());
  }

  @Test
  void refusesEachBadFieldByName() {
    String ex = PriceListRequest.EXAMPLE;
    assertTrue(refusal(ex.replace("\"2026-12-15T00:00:00Z\"", "\"2026-12-15\"")).contains("effectiveFrom"));
    assertTrue(refusal(ex.replace("00:00:00Z", "00:00:00.0001Z")).contains("whole millisecond"));
    assertTrue(refusal(ex.replace("\"0.03\"", "\"-0.03\"")).startsWith("tokensPer1kUsd: amount cannot be negative"));
    assertTrue(refusal(ex.replace("\"0.03\"", "\"0.0300001\"")).contains("six decimals"));
    assertTrue(refusal(ex.replace("\"0.03\"", "\"abc\"")).contains("not a dollar amount"));
    assertTrue(refusal(ex.replace("\"0.10\"", "\"1000.000001\"")).contains("audioMinuteUsd must be between 0 and"));
    assertTrue(refusal(ex.replace("\"0.01\"", "0.01")).contains("'imageUsd' is required"));
    assertTrue(refusal(ex.replace("\"percent\": 10", "\"percent\": 10.5")).contains("volumeDiscount.percent"));
    assertTrue(refusal(ex.replace("\"percent\": 10", "\"percent\": -1")).contains("volumeDiscount.percent"));
    assertTrue(refusal(ex.replace("1000000", "-1")).contains("volumeDiscount.thresholdTokens"));
    assertTrue(refusal(ex.replace("\"percent\": 10", "\"percent\": 10, \"extra\": 1"))
        .contains("unknown field 'volumeDiscount.extra'"));
    assertTrue(refusal(ex.replace("\"models\"", "\"modelz\"")).contains("unknown field 'modelz'"));
    assertTrue(refusal(ex.replace("demo-text", "Demo Text")).contains("model name"));
    assertTrue(refusal(ex.replace("{\"demo-text\": \"0.05\"}", "[\"demo-text\"]")).contains("'models' must be"));
    assertTrue(refusal(ex.replace("\"0.05\"", "\"-1\"")).contains("models.demo-text"));
    assertTrue(refusal("{\"effectiveFrom\": \"2026-12-15T00:00:00Z\"}").contains("tokensPer1kUsd"));
  }
}
