package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The audio billing rule: the decoded duration rounded up to the whole second. */
class UnitsTest {
  @Test
  void audioIsBilledByTheSecondRoundedUp() {
    assertEquals(1000, Units.audio(1).audioMillis());
    assertEquals(1000, Units.audio(1000).audioMillis());
    assertEquals(2000, Units.audio(1001).audioMillis());
    assertEquals(3000, Units.audio(2240).audioMillis());
    assertEquals(60_000, Units.audio(59_999).audioMillis());
    assertThrows(IllegalArgumentException.class, () -> Units.audio(0));
    assertEquals(1, Units.image().images());
  }
}
