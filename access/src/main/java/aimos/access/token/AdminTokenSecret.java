package aimos.access.token;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Issued admin tokens look like {@code aimosadm_<id>_<secret>}: a 16-hex-digit id in clear, so the node looks up one
 * record, and 32 random bytes (base64url). Only SHA-256(salt || secret) is stored; a salted fast hash suffices because
 * the secret is random and long, unlike a password. The secret is made on the node that shows it once and never
 * travels between nodes.
 */
public final class AdminTokenSecret {
  public static final String PREFIX = "aimosadm_";
  private static final Pattern ID = Pattern.compile("[0-9a-f]{16}");
  private static final int SECRET_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  private AdminTokenSecret() {}

  /** A new token: its id, the token to show once, and the salted hash to store. */
  public record Minted(String id, String token, byte[] salt, byte[] hash) {
    @Override
    public String toString() {
      return "Minted[id=" + id + ", token=***]";
    }
  }

  /** A presented token split into id and secret. */
  public record Presented(String id, String secret) {
    @Override
    public String toString() {
      return "Presented[id=" + id + ", secret=***]";
    }
  }

  public static Minted mint() {
    byte[] id = new byte[8];
    RANDOM.nextBytes(id);
    return mint(HexFormat.of().formatHex(id));
  }

  /** A new secret for an existing id (rotation). */
  public static Minted mint(String id) {
    byte[] secret = new byte[SECRET_BYTES];
    RANDOM.nextBytes(secret);
    String s = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    byte[] salt = new byte[16];
    RANDOM.nextBytes(salt);
    return new Minted(id, PREFIX + id + "_" + s, salt, hash(salt, s));
  }

  public static boolean isValidId(String id) {
    return id != null && ID.matcher(id).matches();
  }

  public static Optional<Presented> parse(String token) {
    if (token == null || !token.startsWith(PREFIX) || token.length() < PREFIX.length() + 18
        || token.length() > PREFIX.length() + 17 + 64) {
      return Optional.empty();
    }
    String id = token.substring(PREFIX.length(), PREFIX.length() + 16);
    if (!isValidId(id) || token.charAt(PREFIX.length() + 16) != '_') {
      return Optional.empty();
    }
    return Optional.of(new Presented(id, token.substring(PREFIX.length() + 17)));
  }

  public static byte[] hash(byte[] salt, String secret) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(salt);
      d.update(secret.getBytes(StandardCharsets.UTF_8));
      return d.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** Whether {@code secret} hashes to {@code expected} under {@code salt}, in time independent of where they differ. */
  public static boolean matches(byte[] salt, byte[] expected, String secret) {
    return MessageDigest.isEqual(expected, hash(salt, secret));
  }
}
