package aimos.chaos.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * How the command-line tools and drills reach a node: plaintext, or TLS trusting the CA certificates in one PEM file
 * (and nothing else). {@link #fromEnvironment} picks what {@code bin/aimos dev} uses by default.
 */
public final class ClientTls {
  public static final ClientTls PLAINTEXT = new ClientTls(null);
  private final Path caFile;
  private volatile SSLContext context;

  private ClientTls(Path caFile) {
    this.caFile = caFile;
  }

  public static ClientTls trusting(Path caFile) {
    return new ClientTls(caFile.toAbsolutePath());
  }

  /**
   * {@code AIMOS_TLS_CA_FILE} when set; else plaintext when {@code AIMOS_DEV_PLAINTEXT} is 1 (or true); else the local
   * CA's certificate ({@code $AIMOS_TLS_DIR/ca.crt}, see {@link LocalCa}) when it exists; else plaintext.
   */
  public static ClientTls fromEnvironment() {
    return fromEnvironment(System::getenv);
  }

  public static ClientTls fromEnvironment(Function<String, String> env) {
    String ca = env.apply("AIMOS_TLS_CA_FILE");
    if (ca != null && !ca.isBlank()) {
      return trusting(Path.of(ca.strip()));
    }
    if (plaintextRequested(env)) {
      return PLAINTEXT;
    }
    String dir = env.apply("AIMOS_TLS_DIR");
    Path local = Path.of(dir == null || dir.isBlank() ? ".aimos/tls" : dir.strip()).resolve("ca.crt");
    return Files.exists(local) ? trusting(local) : PLAINTEXT;
  }

  /** {@code AIMOS_DEV_PLAINTEXT} set to 1, true or yes. */
  public static boolean plaintextRequested(Function<String, String> env) {
    String v = env.apply("AIMOS_DEV_PLAINTEXT");
    return v != null && Set.of("1", "true", "yes").contains(v.strip().toLowerCase(java.util.Locale.ROOT));
  }

  public boolean enabled() {
    return caFile != null;
  }

  public Optional<Path> caFile() {
    return Optional.ofNullable(caFile);
  }

  public String scheme() {
    return enabled() ? "https" : "http";
  }

  /** {@code https://host:port/path} (or http); an address that already has a scheme is kept as it is. */
  public String url(String address, String path) {
    return (address.contains("://") ? address : scheme() + "://" + address) + path;
  }

  /** A context that trusts the CA file's certificates only; a file that does not load is named in the error. */
  public SSLContext sslContext() {
    if (caFile == null) {
      throw new IllegalStateException("plaintext has no TLS context");
    }
    SSLContext ctx = context;
    if (ctx == null) {
      try {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        for (Certificate c : CertificateFactory.getInstance("X.509")
            .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(caFile)))) {
          trust.setCertificateEntry("ca-" + i++, c);
        }
        if (i == 0) {
          throw new GeneralSecurityException("no PEM certificate in it");
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        context = ctx;
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalArgumentException("cannot use the CA certificate file " + caFile + " (AIMOS_TLS_CA_FILE): "
            + e.getMessage(), e);
      }
    }
    return ctx;
  }

  /** An HTTP/1.1 client builder, with this trust when TLS is on. */
  public HttpClient.Builder httpClient() {
    HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1);
    return enabled() ? b.sslContext(sslContext()) : b;
  }

  /** gRPC client settings with TLS on (trusting the CA) or off. */
  public GrpcClientSettings grpc(GrpcClientSettings settings) {
    return enabled() ? settings.withTls(true).withSslContext(sslContext()) : settings.withTls(false);
  }

  @Override
  public String toString() {
    return enabled() ? "TLS (trusting " + caFile + ")" : "plaintext";
  }
}
