package aimos.access.privacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class SealedTextTest {
  private static final SecretKey KEY = new SecretKeySpec(new byte[32], "AES");
  private static final SecretKey OTHER = new SecretKeySpec("0123456789abcdef0123456789abcdef"
      .getBytes(StandardCharsets.US_ASCII), "AES");

  @Test
  void opensWhatItSealedAndShowsNoneOfIt() {
    String sealed = SealedText.seal(KEY, "acme", "display_name", "Grace Hopper");
    assertTrue(SealedText.isSealed(sealed));
    assertFalse(sealed.contains("Grace"));
    assertEquals("Grace Hopper", SealedText.open(KEY, "acme", "display_name", sealed));
    // a fresh nonce each time: equal names do not give equal ciphertexts
    assertNotEquals(sealed, SealedText.seal(KEY, "acme", "display_name", "Grace Hopper"));
  }

  @Test
  void aValueDoesNotOpenWithAnotherKeyTenantOrFieldOrOnceChanged() {
    String sealed = SealedText.seal(KEY, "acme", "display_name", "Grace Hopper");
    assertThrows(IllegalArgumentException.class, () -> SealedText.open(OTHER, "acme", "display_name", sealed));
    assertThrows(IllegalArgumentException.class, () -> SealedText.open(KEY, "globex", "display_name", sealed));
    assertThrows(IllegalArgumentException.class, () -> SealedText.open(KEY, "acme", "webhook_url", sealed));
    int at = SealedText.PREFIX.length() + 20;
    String changed = sealed.substring(0, at) + (sealed.charAt(at) == 'A' ? 'B' : 'A') + sealed.substring(at + 1);
    assertThrows(IllegalArgumentException.class, () -> SealedText.open(KEY, "acme", "display_name", changed));
    assertThrows(IllegalArgumentException.class, () -> SealedText.open(KEY, "acme", "display_name",
        SealedText.PREFIX + "AAAA"));
    assertThrows(IllegalArgumentException.class, () -> SealedText.open(KEY, "acme", "display_name",
        SealedText.PREFIX + "not base64!"));
  }

  @Test
  void textStoredBeforeSealingReadsAsItIsAndAnErasedKeyReadsAsErased() {
    assertEquals("Old Name", SealedText.open(KEY, "acme", "display_name", "Old Name"));
    String sealed = SealedText.seal(KEY, "acme", "display_name", "Grace Hopper");
    var erased = new TenantDataKeys.KeyState(Optional.empty(), Optional.of(java.time.Instant.EPOCH));
    assertEquals(SealedText.ERASED, erased.open("acme", "display_name", sealed));
    assertEquals("Old Name", erased.open("acme", "display_name", "Old Name"));
  }

  @Test
  void theLongestSealedNameIsTheBoundTheTenantEntityChecks() {
    // three UTF-8 bytes a character is the most a 200-character name takes
    String widest = "\u20ac".repeat(200);
    String sealed = SealedText.seal(KEY, "acme", "display_name", widest);
    assertEquals(SealedText.maxSealedLength(200), sealed.length());
    assertEquals(848, SealedText.maxSealedLength(200), "TenantEntity.MAX_SEALED_NAME");
  }
}
