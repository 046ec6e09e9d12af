package aimos.node.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A drill started through the management API reaches its own node the way the node serves. */
class DrillRunsTlsTest {
  private static com.typesafe.config.Config tls(String cert, String ca) {
    return ConfigFactory.parseString("aimos.tls.certificate-file = \"" + cert + "\"\naimos.tls.ca-file = \"" + ca
        + "\"");
  }

  @Test
  void plaintextNodeCaFileOrOwnCertificate() {
    assertFalse(DrillRuns.selfTls(tls("", "")).enabled());
    assertEquals(Path.of("/etc/aimos/ca.crt"), DrillRuns.selfTls(tls("/etc/aimos/node.crt", "/etc/aimos/ca.crt"))
        .caFile().orElseThrow());
    assertEquals(Path.of("/etc/aimos/node.crt"), DrillRuns.selfTls(tls("/etc/aimos/node.crt", "")).caFile()
        .orElseThrow(), "without a CA file the node's own certificate is what the drill trusts");
  }
}
