package aimos.billing.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class LedgerCursorTest {
  private static String b64(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void roundTripsAndIsOpaque() {
    String c = LedgerCursor.encode("2026-11", 123_456);
    assertEquals(123_456, LedgerCursor.decode(c, "2026-11"));
    assertTrue(c.matches("[A-Za-z0-9_-]+"), c);
  }

  @Test
  void refusesACursorOfAnotherMonth() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> LedgerCursor.decode(LedgerCursor.encode("2026-10", 5), "2026-11"));
    assertTrue(e.getMessage().contains("2026-10"), e.getMessage());
  }

  @Test
  void refusesAnythingItDidNotWrite() {
    for (String bad : new String[] {"", "!!!", "not base64 at all", b64("v2|2026-11|5"), b64("v1|2026-11|0"),
        b64("v1|2026-11|-5"), b64("v1|2026-11|99999999999999999999"), b64("v1|2026-11|5|x"), b64("v1|2026-11|05"),
        "A".repeat(65)}) {
      assertThrows(IllegalArgumentException.class, () -> LedgerCursor.decode(bad, "2026-11"), bad);
    }
    // 19 digits that overflow a long
    assertThrows(IllegalArgumentException.class, () -> LedgerCursor.decode(b64("v1|2026-11|9999999999999999999"),
        "2026-11"));
  }
}
