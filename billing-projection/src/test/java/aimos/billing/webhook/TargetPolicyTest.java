package aimos.billing.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class TargetPolicyTest {
  private final TargetPolicy strict = new TargetPolicy(false);

  @Test
  void refusesInternalAddressesUnlessAllowed() throws Exception {
    for (String internal : new String[] {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "224.0.0.1"}) {
      assertTrue(TargetPolicy.internal(InetAddress.getByName(internal)), internal);
      var refused = assertThrows(TargetPolicy.Refused.class, () -> strict.check(internal.contains(":")
          ? "http://[" + internal + "]:8080/x" : "http://" + internal + ":8080/x"));
      assertTrue(refused.getMessage().contains("private"), refused.getMessage());
    }
    for (String external : new String[] {"93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"}) {
      assertFalse(TargetPolicy.internal(InetAddress.getByName(external)), external);
    }
    assertEquals("127.0.0.1", new TargetPolicy(true).check("http://127.0.0.1:9/hook").getHost());
    // a name is judged by what it resolves to
    assertThrows(TargetPolicy.Refused.class, () -> strict.check("http://localhost:8080/hook"));
  }

  @Test
  void refusesMalformedUrlsWithWhatToFix() {
    for (String bad : new String[] {"", "ftp://example.com/x", "example.com/x", "https://user:pw@example.com/",
        "https://example.com/#frag", "https:///nohost", "http://exa mple.com/", "https://example.com/"
        + "a".repeat(2100)}) {
      var e = assertThrows(TargetPolicy.Refused.class, () -> new TargetPolicy(true).check(bad), bad);
      assertTrue(e.getMessage().startsWith("url") || e.getMessage().contains("url"), e.getMessage());
    }
  }
}
