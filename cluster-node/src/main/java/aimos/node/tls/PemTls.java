package aimos.node.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.pekko.pki.pem.DERPrivateKeyLoader;
import org.apache.pekko.pki.pem.PEMDecoder;

/**
 * An {@link SSLContext} from PEM files, as operators and cert-manager write them: a certificate chain, its private key
 * (PKCS#8, or PKCS#1 RSA) and optionally the CA certificates to trust for peers. A key that does not belong to the
 * certificate is refused, so a rotation caught between writing the two files never serves a broken pair.
 */
public final class PemTls {
  private PemTls() {}

  /** The files of one TLS identity; {@code caFile} may be absent. */
  public record PemFiles(Path certificateFile, Path privateKeyFile, Optional<Path> caFile) {}

  public static List<X509Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
    byte[] pem = Files.readAllBytes(file);
    List<X509Certificate> chain = CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(pem)).stream().map(c -> (X509Certificate) c).toList();
    if (chain.isEmpty()) {
      throw new GeneralSecurityException(file + " holds no PEM certificate");
    }
    return chain;
  }

  public static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    try {
      return DERPrivateKeyLoader.load(PEMDecoder.decode(pem));
    } catch (RuntimeException e) {
      throw new GeneralSecurityException(file + " is not a PEM private key (PKCS#8 or PKCS#1 RSA): " + e.getMessage(), e);
    }
  }

  /** Builds the context; throws with a message naming the file at fault. */
  public static SSLContext context(PemFiles files) throws IOException, GeneralSecurityException {
    List<X509Certificate> chain = certificates(files.certificateFile());
    PrivateKey key = privateKey(files.privateKeyFile());
    checkPair(chain.get(0), key, files);
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("identity", key, new char[0], chain.toArray(X509Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    TrustManagerFactory tmf = null;
    if (files.caFile().isPresent()) {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (X509Certificate ca : certificates(files.caFile().get())) {
        trust.setCertificateEntry("ca-" + i++, ca);
      }
      tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), new SecureRandom());
    return ctx;
  }

  /** Signs and verifies a probe: the only check that works the same for RSA, EC and EdDSA keys. */
  private static void checkPair(X509Certificate cert, PrivateKey key, PemFiles files) throws GeneralSecurityException {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> throw new GeneralSecurityException("unsupported key algorithm " + key.getAlgorithm() + " in "
          + files.privateKeyFile() + "; use RSA, EC or Ed25519");
    };
    byte[] probe = "aimos-tls-pair-check".getBytes(StandardCharsets.US_ASCII);
    Signature s = Signature.getInstance(algorithm);
    s.initSign(key);
    s.update(probe);
    byte[] sig = s.sign();
    Signature v = Signature.getInstance(algorithm);
    v.initVerify(cert.getPublicKey());
    v.update(probe);
    if (!v.verify(sig)) {
      throw new GeneralSecurityException("the private key in " + files.privateKeyFile()
          + " does not belong to the certificate in " + files.certificateFile());
    }
  }
}
