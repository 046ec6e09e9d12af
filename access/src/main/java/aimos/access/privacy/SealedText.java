package aimos.access.privacy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * A tenant's personal text as it is stored: {@code sealed:v1:} and the URL-safe base64 of a 12-byte nonce followed by
 * the AES-256-GCM ciphertext of the UTF-8 text. The tenant id and the field name are the associated data, so a sealed
 * value copied into another tenant or field does not open. Text without the prefix was stored before sealing (plain).
 */
public final class SealedText {
  public static final String PREFIX = "sealed:v1:";
  /** What a sealed value reads as once its tenant's data key is destroyed. */
  public static final String ERASED = "[erased]";
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private SealedText() {}

  public static boolean isSealed(String stored) {
    return stored != null && stored.startsWith(PREFIX);
  }

  /** The longest stored form of a text of {@code chars} UTF-16 characters (each at most 3 UTF-8 bytes). */
  public static int maxSealedLength(int chars) {
    int bytes = NONCE_BYTES + 3 * chars + TAG_BITS / 8;
    return PREFIX.length() + (bytes * 4 + 2) / 3;
  }

  public static String seal(SecretKey key, String tenantId, String field, String text) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(associated(tenantId, field));
      byte[] sealed = c.doFinal(text.getBytes(StandardCharsets.UTF_8));
      return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(
          ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available: " + e.getMessage(), e);
    }
  }

  /**
   * The text of a stored value: plain text as it is, a sealed one opened with {@code key}.
   *
   * @throws IllegalArgumentException when the sealed value is damaged or belongs to another tenant or field
   */
  public static String open(SecretKey key, String tenantId, String field, String stored) {
    if (!isSealed(stored)) {
      return stored;
    }
    byte[] raw;
    try {
      raw = Base64.getUrlDecoder().decode(stored.substring(PREFIX.length()));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a sealed " + field + " of tenant " + tenantId + " is not base64");
    }
    if (raw.length < NONCE_BYTES + TAG_BITS / 8) {
      throw new IllegalArgumentException("a sealed " + field + " of tenant " + tenantId + " is truncated");
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, raw, 0, NONCE_BYTES));
      c.updateAAD(associated(tenantId, field));
      return new String(c.doFinal(raw, NONCE_BYTES, raw.length - NONCE_BYTES), StandardCharsets.UTF_8);
    } catch (javax.crypto.AEADBadTagException e) {
      throw new IllegalArgumentException("a sealed " + field + " of tenant " + tenantId
          + " does not open with its key (changed, or sealed for another tenant or field)");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is not available: " + e.getMessage(), e);
    }
  }

  private static byte[] associated(String tenantId, String field) {
    return ("aimos-personal-data\0" + tenantId + "\0" + field).getBytes(StandardCharsets.UTF_8);
  }
}
