package aimos.billing.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class WebhookSignatureTest {
  /** The test vector the Standard Webhooks reference libraries publish (secret, id, timestamp, payload, signature). */
  private static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  private static final String ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
  private static final long TIMESTAMP = 1614265330;
  private static final String PAYLOAD = "{\"test\": 2432232314}";
  private static final String EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

  @Test
  void signsThePublishedTestVector() {
    assertEquals(EXPECTED, WebhookSignature.sign(SECRET, ID, TIMESTAMP, PAYLOAD));
    // the secret without its prefix signs the same
    assertEquals(EXPECTED, WebhookSignature.sign(SECRET.substring(6), ID, TIMESTAMP, PAYLOAD));
    assertNotEquals(EXPECTED, WebhookSignature.sign(SECRET, ID, TIMESTAMP + 1, PAYLOAD));
    assertNotEquals(EXPECTED, WebhookSignature.sign(SECRET, ID, TIMESTAMP, PAYLOAD + " "));
  }

  @Test
  void aRotationHeaderCarriesBothSignaturesAndEitherSecretVerifies() {
    String fresh = WebhookSignature.newSecret();
    String header = WebhookSignature.header(List.of(fresh, SECRET), ID, TIMESTAMP, PAYLOAD);
    assertEquals(2, header.split(" ").length);
    assertTrue(header.endsWith(" " + EXPECTED));
    assertTrue(WebhookSignature.verify(SECRET, ID, TIMESTAMP, PAYLOAD, header));
    assertTrue(WebhookSignature.verify(fresh, ID, TIMESTAMP, PAYLOAD, header));
    assertFalse(WebhookSignature.verify(WebhookSignature.newSecret(), ID, TIMESTAMP, PAYLOAD, header));
    assertFalse(WebhookSignature.verify(SECRET, ID, TIMESTAMP, PAYLOAD, "v1,"));
  }

  @Test
  void secretsAreWhsecWithAtLeast24RandomBytes() {
    String s = WebhookSignature.newSecret();
    assertTrue(s.startsWith("whsec_"));
    assertTrue(Base64.getDecoder().decode(s.substring(6)).length >= 24);
    assertNotEquals(s, WebhookSignature.newSecret());
  }

  @Test
  void webhookIdsAreStablePerEventAndHaveNoFullStop() {
    String id = WebhookSignature.webhookId("invoice.finalized:AIMOS-2026-000123");
    assertEquals(id, WebhookSignature.webhookId("invoice.finalized:AIMOS-2026-000123"));
    assertNotEquals(id, WebhookSignature.webhookId("invoice.finalized:AIMOS-2026-000124"));
    assertFalse(id.contains("."));
    assertTrue(id.startsWith("msg_"));
  }
}
