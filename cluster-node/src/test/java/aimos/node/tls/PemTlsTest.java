package aimos.node.tls;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.node.TestCerts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PemTlsTest {
  @Test
  void aKeyThatIsNotTheCertificatesOrNotAKeyIsRefusedWithTheFileNamed() throws Exception {
    TestCerts ca = TestCerts.authority("pem-test-ca");
    TestCerts.Issued one = ca.issue("one");
    TestCerts.Issued two = ca.issue("two");
    assertNotNull(PemTls.context(new PemTls.PemFiles(one.cert(), one.key(), Optional.of(ca.caCert))));

    var mismatch = assertThrows(GeneralSecurityException.class,
        () -> PemTls.context(new PemTls.PemFiles(one.cert(), two.key(), Optional.empty())));
    assertTrue(mismatch.getMessage().contains("does not belong") && mismatch.getMessage().contains(two.key().toString()),
        mismatch.getMessage());

    Path garbage = Files.writeString(ca.dir.resolve("garbage.key"), "not a key");
    var notPem = assertThrows(GeneralSecurityException.class,
        () -> PemTls.context(new PemTls.PemFiles(one.cert(), garbage, Optional.empty())));
    assertTrue(notPem.getMessage().contains(garbage.toString()), notPem.getMessage());
    assertThrows(GeneralSecurityException.class,
        () -> PemTls.context(new PemTls.PemFiles(garbage, one.key(), Optional.empty())));

    // client certificates cannot be required without a CA to check them
    assertThrows(IllegalArgumentException.class, () -> new RotatingServerTls(
        new PemTls.PemFiles(one.cert(), one.key(), Optional.empty()), true, Duration.ofSeconds(1), System::nanoTime));
  }
}
