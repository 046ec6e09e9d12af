package aimos.access.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class AdminTokenSecretTest {
  @Test
  void aMintedTokenCarriesItsIdAnd32RandomBytes() {
    AdminTokenSecret.Minted m = AdminTokenSecret.mint();
    AdminTokenSecret.Presented p = AdminTokenSecret.parse(m.token()).orElseThrow();
    assertEquals(m.id(), p.id());
    assertEquals(32, Base64.getUrlDecoder().decode(p.secret()).length);
    assertTrue(AdminTokenSecret.matches(m.salt(), m.hash(), p.secret()));
    assertFalse(AdminTokenSecret.matches(m.salt(), m.hash(), p.secret() + "x"));
    assertNotEquals(m.token(), AdminTokenSecret.mint(m.id()).token());
    assertFalse(m.toString().contains(p.secret()), "the secret never appears in toString");
  }

  @Test
  void malformedTokensAreNotParsed() {
    for (String bad : new String[] {"", "aimosadm_", "aimosadm_0123456789abcdef", "aimosadm_0123456789ABCDEF_x",
        "aimosadm_0123456789abcdefxsecret", "aimos_acme_secret", "aimosadm_0123456789abcdef_" + "x".repeat(65)}) {
      assertTrue(AdminTokenSecret.parse(bad).isEmpty(), bad);
    }
  }

  @Test
  void weakConfiguredTokensStopTheNode() {
    ConfiguredTokens.check("aimos.admin.token", "");
    ConfiguredTokens.check("aimos.admin.token", "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5");
    for (String weak : new String[] {"change-me", "local-admin-token", "short-but-random-9x",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababababababababababab"}) {
      var e = assertThrows(IllegalArgumentException.class, () -> ConfiguredTokens.check("aimos.admin.token", weak));
      assertTrue(e.getMessage().contains("openssl rand"), e.getMessage());
      assertFalse(e.getMessage().contains(weak), "the refused token is not echoed");
    }
  }
}
