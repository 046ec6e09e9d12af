package aimos.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A certificate authority and the certificates it issues, made with the openssl command line (RSA 2048, valid two
 * days), for tests that speak real TLS. Node certificates share one subject ({@code CN=aimos-node}), as Artery's
 * rotating-keys provider requires of peers, and name 127.0.0.1 and localhost.
 */
public final class TestCerts {
  public final Path dir;
  public final Path caCert;
  private final Path caKey;
  private int issued;

  private TestCerts(Path dir, String caName) throws IOException {
    this.dir = dir;
    this.caCert = dir.resolve("ca.crt");
    this.caKey = dir.resolve("ca.key");
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey.toString(), "-out",
        caCert.toString(), "-days", "2", "-subj", "/CN=" + caName);
  }

  /** A new CA in a temporary folder. */
  public static TestCerts authority(String caName) throws IOException {
    return new TestCerts(Files.createTempDirectory("aimos-tls-"), caName);
  }

  /** A node's certificate and key, issued by this CA. */
  public record Issued(Path cert, Path key) {}

  public synchronized Issued issue(String name) throws IOException {
    int n = ++issued;
    Path key = dir.resolve(name + "-" + n + ".key");
    Path csr = dir.resolve(name + "-" + n + ".csr");
    Path cert = dir.resolve(name + "-" + n + ".crt");
    Path ext = dir.resolve(name + "-" + n + ".ext");
    Files.writeString(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out", csr.toString(),
        "-subj", "/CN=aimos-node");
    openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", caCert.toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-out", cert.toString(), "-days", "2", "-extfile", ext.toString());
    return new Issued(cert, key);
  }

  /** A client context that trusts this CA only. */
  public SSLContext clientContext() {
    try {
      var trust = java.security.KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", aimos.node.tls.PemTls.certificates(caCert).get(0));
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new AssertionError("cannot trust " + caCert, e);
    }
  }

  private static void openssl(Path dir, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    try {
      if (p.waitFor() != 0) {
        throw new IOException("openssl " + String.join(" ", args) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
