package aimos.tenant;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * API keys look like {@code aimos_<tenantId>_<secret>}: the tenant id in clear routes the request to its entity. The
 * secret is the key's id (12 hex digits, not secret) followed by 256 random bits, and is stored only as
 * SHA-256(salt || secret). The id lets the tenant check one hash instead of one per key; a salted fast hash suffices
 * because the secret is random and long, unlike a password.
 */
public final class ApiKeys {
  public static final String PREFIX = "aimos_";
  private static final Pattern TENANT_ID = Pattern.compile("[a-z0-9][a-z0-9-]{1,38}[a-z0-9]");
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiKeys() {}

  /** A parsed key: which tenant it names, and its secret part. */
  public record Presented(String tenantId, String secret) {
    @Override
    public String toString() {
      return "Presented[tenantId=" + tenantId + ", secret=***]";
    }
  }

  public static boolean isValidTenantId(String id) {
    return id != null && TENANT_ID.matcher(id).matches();
  }

  public static String tenantIdRule() {
    return "3-40 characters of lower-case letters, digits and '-', starting and ending with a letter or digit";
  }

  public static Optional<Presented> parse(String key) {
    if (key == null || !key.startsWith(PREFIX)) {
      return Optional.empty();
    }
    int sep = key.indexOf('_', PREFIX.length());
    if (sep < 0 || sep == key.length() - 1) {
      return Optional.empty();
    }
    String tenant = key.substring(PREFIX.length(), sep);
    String secret = key.substring(sep + 1);
    if (!isValidTenantId(tenant) || secret.length() < 16 || secret.length() > 128) {
      return Optional.empty();
    }
    return Optional.of(new Presented(tenant, secret));
  }

  /** The key id's 12 hex digits then 256 random bits as 64 hex digits: no '_' or '-' to confuse with separators. */
  public static String newSecret(String keyId) {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return keyId.substring(KEY_ID_PREFIX.length()) + java.util.HexFormat.of().formatHex(b);
  }

  /** The id of the key a secret claims to belong to, or "" when it cannot belong to any. */
  public static String keyIdOf(String secret) {
    if (secret == null || secret.length() < KEY_ID_HEX + 16) {
      return "";
    }
    return KEY_ID_PREFIX + secret.substring(0, KEY_ID_HEX);
  }

  public static byte[] newSalt() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return b;
  }

  private static final String KEY_ID_PREFIX = "key-";
  private static final int KEY_ID_HEX = 12;

  public static String newKeyId() {
    byte[] b = new byte[KEY_ID_HEX / 2];
    RANDOM.nextBytes(b);
    return KEY_ID_PREFIX + java.util.HexFormat.of().formatHex(b);
  }

  public static String format(String tenantId, String secret) {
    return PREFIX + tenantId + "_" + secret;
  }

  public static byte[] hash(byte[] salt, String secret) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(salt);
      md.update(secret.getBytes(StandardCharsets.UTF_8));
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** Constant-time comparison: the time taken does not depend on where the hashes differ. */
  public static boolean matches(byte[] salt, byte[] expectedHash, String secret) {
    return MessageDigest.isEqual(expectedHash, hash(salt, secret));
  }
}
