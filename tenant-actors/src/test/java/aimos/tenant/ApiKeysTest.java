package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ApiKeysTest {
  @Test
  void secretsStartWithTheirKeyId() {
    String keyId = ApiKeys.newKeyId();
    assertTrue(keyId.matches("key-[0-9a-f]{12}"), keyId);
    String secret = ApiKeys.newSecret(keyId);
    assertEquals(12 + 64, secret.length());
    assertEquals(keyId, ApiKeys.keyIdOf(secret));
    assertEquals("", ApiKeys.keyIdOf("short"));
  }

  @Test
  void formatsAndParsesKeys() {
    String secret = ApiKeys.newSecret(ApiKeys.newKeyId());
    String key = ApiKeys.format("acme-co", secret);
    var parsed = ApiKeys.parse(key).orElseThrow();
    assertEquals("acme-co", parsed.tenantId());
    assertEquals(secret, parsed.secret());
    assertFalse(parsed.toString().contains(secret));
  }

  @Test
  void refusesMalformedKeys() {
    assertTrue(ApiKeys.parse(null).isEmpty());
    assertTrue(ApiKeys.parse("").isEmpty());
    assertTrue(ApiKeys.parse("sk-abc").isEmpty());
    assertTrue(ApiKeys.parse("aimos_acme").isEmpty());
    assertTrue(ApiKeys.parse("aimos_acme_").isEmpty());
    assertTrue(ApiKeys.parse("aimos_ACME_0123456789abcdef0123").isEmpty());
    assertTrue(ApiKeys.parse("aimos_acme_short").isEmpty());
  }

  @Test
  void hashesWithSaltAndMatchesOnlyTheRightSecret() {
    byte[] salt = ApiKeys.newSalt();
    byte[] hash = ApiKeys.hash(salt, "s3cret-s3cret-s3cret");
    assertTrue(ApiKeys.matches(salt, hash, "s3cret-s3cret-s3cret"));
    assertFalse(ApiKeys.matches(salt, hash, "s3cret-s3cret-s3creT"));
    assertFalse(java.util.Arrays.equals(hash, ApiKeys.hash(ApiKeys.newSalt(), "s3cret-s3cret-s3cret")));
    assertArrayEquals(hash, ApiKeys.hash(salt, "s3cret-s3cret-s3cret"));
  }

  @Test
  void parsesAndFormatsMoney() {
    assertEquals(12_500_000, Money.parseUsd("12.5"));
    assertEquals(20, Money.parseUsd("0.000020"));
    assertEquals("0.000240", Money.format(240));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("0.0000001"));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("-1"));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("ten"));
  }
}
