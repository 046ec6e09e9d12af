package aimos.chaos.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.chaos.drill.AdminClient;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalCaTest {
  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

  @TempDir
  Path dir;

  private static Clock at(Instant t) {
    return Clock.fixed(t, ZoneOffset.UTC);
  }

  private static X509Certificate cert(Path file) throws Exception {
    return LocalCa.parse(Files.readAllBytes(file));
  }

  @Test
  void firstStartMakesACaAndANodeCertificateItSigns() throws Exception {
    LocalCa.Issued issued = LocalCa.ensure(dir, List.of("10.213.0.11"), at(T0));
    assertEquals("created", issued.action());
    X509Certificate ca = cert(issued.caCertificate());
    X509Certificate node = cert(issued.certificate());

    assertEquals("CN=" + LocalCa.CA_SUBJECT, ca.getSubjectX500Principal().getName());
    assertTrue(ca.getBasicConstraints() >= 0, "the CA certificate is a CA");
    assertTrue(ca.getKeyUsage()[5], "the CA signs certificates");
    ca.verify(ca.getPublicKey());
    assertEquals("CN=aimos-node", node.getSubjectX500Principal().getName());
    assertEquals(ca.getSubjectX500Principal(), node.getIssuerX500Principal());
    assertEquals(-1, node.getBasicConstraints(), "a node certificate is no CA");
    node.verify(ca.getPublicKey());
    assertTrue(node.getExtendedKeyUsage().containsAll(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2")),
        "server and client authentication (Artery's mutual TLS): " + node.getExtendedKeyUsage());
    Set<String> names = LocalCa.names(node);
    assertTrue(names.containsAll(Set.of("dns:localhost", "ip:127.0.0.1", "ip:0:0:0:0:0:0:0:1", "ip:10.213.0.11")),
        names.toString());
    for (String host : LocalCa.defaultNames()) {
      assertTrue(names.contains(LocalCa.normalize(host)), host + " in " + names);
    }
    assertEquals(T0.plus(LocalCa.NODE_VALIDITY), issued.notAfter());

    // the whole path validates as a TLS client would check it (PKIX, the CA as the only anchor)
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
    params.setRevocationEnabled(false);
    params.setDate(Date.from(T0.plus(Duration.ofDays(1))));
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(List.of(node)), params);

    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(issued.privateKey())));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    String key = Files.readString(issued.privateKey(), StandardCharsets.US_ASCII);
    assertTrue(key.startsWith("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 PEM, as the node reads it");
    assertTrue(Files.readString(issued.certificate()).startsWith("-----BEGIN CERTIFICATE-----\n"));
  }

  @Test
  void laterStartsReuseTheFilesUntilTheyNearTheirEnd() throws Exception {
    LocalCa.ensure(dir, List.of(), at(T0));
    byte[] ca = Files.readAllBytes(dir.resolve("ca.crt"));
    byte[] caKey = Files.readAllBytes(dir.resolve("ca.key"));
    byte[] node = Files.readAllBytes(dir.resolve("node.crt"));
    byte[] nodeKey = Files.readAllBytes(dir.resolve("node.key"));

    LocalCa.Issued again = LocalCa.ensure(dir, List.of(), at(T0.plus(Duration.ofDays(59))));
    assertEquals("reused", again.action());
    assertArrayEquals(ca, Files.readAllBytes(dir.resolve("ca.crt")));
    assertArrayEquals(caKey, Files.readAllBytes(dir.resolve("ca.key")));
    assertArrayEquals(node, Files.readAllBytes(dir.resolve("node.crt")));
    assertArrayEquals(nodeKey, Files.readAllBytes(dir.resolve("node.key")));

    // within 30 days of its end the node certificate is renewed by the same CA
    Instant late = T0.plus(Duration.ofDays(61));
    LocalCa.Issued renewed = LocalCa.ensure(dir, List.of(), at(late));
    assertEquals("renewed", renewed.action());
    assertArrayEquals(ca, Files.readAllBytes(dir.resolve("ca.crt")));
    assertFalse(java.util.Arrays.equals(node, Files.readAllBytes(dir.resolve("node.crt"))));
    assertEquals(late.plus(LocalCa.NODE_VALIDITY), renewed.notAfter());
    cert(renewed.certificate()).verify(cert(renewed.caCertificate()).getPublicKey());

    // an expired one too
    Instant expired = late.plus(Duration.ofDays(200));
    assertEquals("renewed", LocalCa.ensure(dir, List.of(), at(expired)).action());
    assertArrayEquals(ca, Files.readAllBytes(dir.resolve("ca.crt")));
    cert(dir.resolve("node.crt")).checkValidity(Date.from(expired));
  }

  @Test
  void aMissingNameABrokenKeyOrAnAgingCaMeanNewFiles() throws Exception {
    LocalCa.ensure(dir, List.of(), at(T0));
    byte[] ca = Files.readAllBytes(dir.resolve("ca.crt"));
    // a cluster in network namespaces needs its addresses named
    LocalCa.Issued wider = LocalCa.ensure(dir, List.of("10.213.0.12"), at(T0));
    assertEquals("renewed", wider.action());
    assertTrue(LocalCa.names(cert(wider.certificate())).contains("ip:10.213.0.12"));
    assertEquals("reused", LocalCa.ensure(dir, List.of(), at(T0)).action(), "a certificate naming more still serves");

    Files.writeString(dir.resolve("node.key"), "not a key");
    assertEquals("renewed", LocalCa.ensure(dir, List.of(), at(T0)).action());
    assertArrayEquals(ca, Files.readAllBytes(dir.resolve("ca.crt")));

    // a CA within 90 days of its end is replaced, and the node certificate with it
    Instant old = T0.plus(LocalCa.CA_VALIDITY).minus(Duration.ofDays(80));
    LocalCa.Issued fresh = LocalCa.ensure(dir, List.of(), at(old));
    assertEquals("renewed", fresh.action());
    assertFalse(java.util.Arrays.equals(ca, Files.readAllBytes(dir.resolve("ca.crt"))));
    cert(fresh.certificate()).verify(cert(fresh.caCertificate()).getPublicKey());

    assertThrows(IllegalArgumentException.class, () -> LocalCa.ensure(dir, List.of("bad name!"), at(T0)));
  }

  @Test
  void toolsFindTheCaOrStayPlaintextWhenAsked() throws Exception {
    Path ca = dir.resolve("ca.crt");
    assertFalse(ClientTls.fromEnvironment(Map.of("AIMOS_TLS_DIR", dir.toString())::get).enabled(),
        "no CA made yet: plaintext");
    LocalCa.ensure(dir, List.of(), at(Instant.now()));
    ClientTls found = ClientTls.fromEnvironment(Map.of("AIMOS_TLS_DIR", dir.toString())::get);
    assertEquals(ca, found.caFile().orElseThrow());
    assertEquals("https://127.0.0.1:8558/ready", found.url("127.0.0.1:8558", "/ready"));
    assertFalse(ClientTls.fromEnvironment(Map.of("AIMOS_TLS_DIR", dir.toString(), "AIMOS_DEV_PLAINTEXT", "1")::get)
        .enabled());
    assertEquals("http://127.0.0.1:8558/ready", ClientTls.PLAINTEXT.url("127.0.0.1:8558", "/ready"));
    Path other = dir.resolve("other.pem");
    assertEquals(other, ClientTls.fromEnvironment(Map.of("AIMOS_TLS_CA_FILE", other.toString(),
        "AIMOS_DEV_PLAINTEXT", "1")::get).caFile().orElseThrow(), "an explicit CA file wins");
    var missing = assertThrows(IllegalArgumentException.class, () -> ClientTls.trusting(other).sslContext());
    assertTrue(missing.getMessage().contains(other.toString()), missing.getMessage());
  }

  /** A real handshake: a server with the node's files, the admin client trusting the local CA and nothing else. */
  @Test
  void theAdminClientTalksToAServerWithTheNodeCertificate() throws Exception {
    LocalCa.Issued issued = LocalCa.ensure(dir, List.of(), Clock.systemUTC());
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("node", LocalCa.readKey(issued.privateKey()), new char[0],
        new X509Certificate[] {cert(issued.certificate())});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    SSLContext serverContext = SSLContext.getInstance("TLS");
    serverContext.init(kmf.getKeyManagers(), null, null);
    HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(serverContext));
    server.createContext("/admin/ping", ex -> {
      byte[] body = "{\"pong\": true}".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();
    try {
      String address = "127.0.0.1:" + server.getAddress().getPort();
      AdminClient admin = new AdminClient(address, "adm", "sec", ClientTls.trusting(issued.caCertificate()));
      assertTrue(admin.admin("GET", "/admin/ping", null).get("pong").asBoolean());
      AdminClient localhost = new AdminClient("localhost:" + server.getAddress().getPort(), "adm", "sec",
          ClientTls.trusting(issued.caCertificate()));
      assertTrue(localhost.admin("GET", "/admin/ping", null).get("pong").asBoolean(), "localhost is named too");

      // a client with the JVM's default trust store does not accept the node
      HttpClient untrusting = HttpClient.newBuilder().build();
      assertThrows(SSLHandshakeException.class, () -> untrusting.send(HttpRequest.newBuilder(
          URI.create("https://" + address + "/admin/ping")).build(), HttpResponse.BodyHandlers.ofString()));
      // and a plaintext one gets nothing useful
      var plain = assertThrows(AdminClient.DrillFailure.class,
          () -> new AdminClient(address, "adm", "sec", ClientTls.PLAINTEXT).admin("GET", "/admin/ping", null));
      assertTrue(plain.getMessage().contains("cannot reach"), plain.getMessage());
    } finally {
      server.stop(0);
    }
  }
}
