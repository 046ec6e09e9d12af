package aimos.billing.webhook;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks symmetric signatures: HMAC-SHA256 over {@code id.timestamp.body} with a {@code whsec_} secret
 * (base64 of at least 24 random bytes), written as {@code v1,<base64>}; several signatures (during a secret rotation)
 * go space-separated in one {@code webhook-signature} header.
 */
public final class WebhookSignature {
  public static final String SECRET_PREFIX = "whsec_";
  /** 32 random bytes: the specification asks for at least 24. */
  static final int SECRET_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  private WebhookSignature() {}

  public static String newSecret() {
    byte[] key = new byte[SECRET_BYTES];
    RANDOM.nextBytes(key);
    return SECRET_PREFIX + Base64.getEncoder().encodeToString(key);
  }

  /** {@code v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>}; the secret with or without its prefix. */
  public static String sign(String secret, String webhookId, long timestampSeconds, String body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key(secret), "HmacSHA256"));
      byte[] sig = mac.doFinal((webhookId + "." + timestampSeconds + "." + body).getBytes(StandardCharsets.UTF_8));
      return "v1," + Base64.getEncoder().encodeToString(sig);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }

  /** The {@code webhook-signature} header: one signature per secret, space-separated. */
  public static String header(List<String> secrets, String webhookId, long timestampSeconds, String body) {
    StringBuilder sb = new StringBuilder();
    for (String s : secrets) {
      if (sb.length() > 0) {
        sb.append(' ');
      }
      sb.append(sign(s, webhookId, timestampSeconds, body));
    }
    return sb.toString();
  }

  /** What a receiver does: whether one of the header's {@code v1} signatures matches, compared in constant time. */
  public static boolean verify(String secret, String webhookId, long timestampSeconds, String body, String header) {
    byte[] expected = sign(secret, webhookId, timestampSeconds, body).getBytes(StandardCharsets.UTF_8);
    boolean match = false;
    for (String candidate : header.split(" ")) {
      match |= MessageDigest.isEqual(expected, candidate.getBytes(StandardCharsets.UTF_8));
    }
    return match;
  }

  /**
   * The webhook id of a billing event: derived from the event id (stable, so every retry and every node sends the
   * same one), without the full stops the signed content uses as separators.
   */
  public static String webhookId(String eventId) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(eventId.getBytes(StandardCharsets.UTF_8));
      return "msg_" + HexFormat.of().formatHex(h, 0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }

  private static byte[] key(String secret) {
    String encoded = secret.startsWith(SECRET_PREFIX) ? secret.substring(SECRET_PREFIX.length()) : secret;
    return Base64.getDecoder().decode(encoded);
  }
}
