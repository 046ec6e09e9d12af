package aimos.chaos.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The local certificate authority of {@code bin/aimos dev} and {@code bin/aimos cluster up}, made with the JDK alone
 * (RSA 2048, SHA-256): a CA ({@code ca.crt}, {@code ca.key}, ten years) and one node certificate it signs
 * ({@code node.crt}, {@code node.key}, 90 days) with subject {@code CN=aimos-node}, as Artery's mutual TLS wants of
 * every node, naming localhost, 127.0.0.1, ::1, this host's name and any extra addresses as subject alternative names.
 * Keys are written owner-only (0600), in a folder only its owner can enter. Files that are still good are reused; a CA
 * within 90 days of its end, or a node certificate within 30 days of its end, not signed by the CA or missing a name,
 * is made anew (a new CA also means a new node certificate).
 */
public final class LocalCa {
  public static final String NODE_SUBJECT = "aimos-node";
  public static final String CA_SUBJECT = "AIMOS local CA";
  static final Duration CA_VALIDITY = Duration.ofDays(3650);
  static final Duration NODE_VALIDITY = Duration.ofDays(90);
  static final Duration CA_RENEW_BEFORE = Duration.ofDays(90);
  static final Duration NODE_RENEW_BEFORE = Duration.ofDays(30);
  private static final Object IN_PROCESS = new Object();
  private static final SecureRandom RANDOM = new SecureRandom();

  private LocalCa() {}

  /** What {@link #ensure} left in the folder, and what it had to do: "created", "renewed" or "reused". */
  public record Issued(Path dir, Path caCertificate, Path certificate, Path privateKey, Instant notAfter,
                       String action) {
    /** The lines the launchers print: where the CA is and how clients use it. */
    public List<String> howToUse() {
      return List.of(
          "TLS: local CA " + caCertificate + " (node certificate " + action + ", valid until " + notAfter + ")",
          "  curl --cacert " + caCertificate + " https://...   grpcurl -cacert " + caCertificate + " ...",
          "  bin/aimos tools find it themselves; other clients: SSL_CERT_FILE or CURL_CA_BUNDLE=" + caCertificate);
    }
  }

  /** {@code AIMOS_TLS_DIR}, else {@code .aimos/tls} under the working directory ({@code bin/aimos} sets it). */
  public static Path defaultDir() {
    String dir = System.getenv("AIMOS_TLS_DIR");
    return Path.of(dir == null || dir.isBlank() ? ".aimos/tls" : dir).toAbsolutePath();
  }

  public static Issued ensure(Path dir, Collection<String> extraNames) {
    return ensure(dir, extraNames, Clock.systemUTC());
  }

  /** Makes or reuses the CA and node certificate in {@code dir}; other processes doing the same wait their turn. */
  public static Issued ensure(Path dir, Collection<String> extraNames, Clock clock) {
    Set<String> wanted = new LinkedHashSet<>();
    for (String n : defaultNames()) {
      wanted.add(normalize(n));
    }
    for (String n : extraNames) {
      wanted.add(normalize(n));
    }
    synchronized (IN_PROCESS) {
      try {
        createPrivateDir(dir);
        try (FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
            StandardOpenOption.WRITE); FileLock ignored = ch.lock()) {
          return ensureLocked(dir, wanted, clock.instant());
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot make the local CA in " + dir + ": " + e.getMessage(), e);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot make the local CA in " + dir + ": " + e.getMessage(), e);
      }
    }
  }

  private static Issued ensureLocked(Path dir, Set<String> wanted, Instant now)
      throws IOException, GeneralSecurityException {
    Path caCert = dir.resolve("ca.crt");
    Path caKeyFile = dir.resolve("ca.key");
    Path nodeCert = dir.resolve("node.crt");
    Path nodeKeyFile = dir.resolve("node.key");
    boolean hadNode = Files.exists(nodeCert);

    X509Certificate ca = loadIfGood(caCert, caKeyFile, now, CA_RENEW_BEFORE);
    PrivateKey caKey;
    boolean newCa = ca == null;
    if (newCa) {
      KeyPair pair = rsa();
      BigInteger serial = serial();
      byte[] der = certificate(CA_SUBJECT, pair.getPublic(), CA_SUBJECT, pair.getPublic(), pair.getPrivate(), serial,
          now.minus(Duration.ofHours(1)), now.plus(CA_VALIDITY), true, List.of());
      ca = parse(der);
      caKey = pair.getPrivate();
      writeKey(caKeyFile, caKey);
      writePublic(caCert, pem("CERTIFICATE", der));
    } else {
      caKey = readKey(caKeyFile);
    }

    X509Certificate node = newCa ? null : loadIfGood(nodeCert, nodeKeyFile, now, NODE_RENEW_BEFORE);
    if (node != null && (!signedBy(node, ca) || !names(node).containsAll(wanted))) {
      node = null;
    }
    if (node != null) {
      return new Issued(dir, caCert, nodeCert, nodeKeyFile, node.getNotAfter().toInstant(), "reused");
    }
    KeyPair pair = rsa();
    byte[] der = certificate(NODE_SUBJECT, pair.getPublic(), CA_SUBJECT, ca.getPublicKey(), caKey, serial(),
        now.minus(Duration.ofHours(1)), now.plus(NODE_VALIDITY), false, List.copyOf(wanted));
    node = parse(der);
    writeKey(nodeKeyFile, pair.getPrivate());
    writePublic(nodeCert, pem("CERTIFICATE", der));
    return new Issued(dir, caCert, nodeCert, nodeKeyFile, node.getNotAfter().toInstant(),
        hadNode ? "renewed" : "created");
  }

  /** localhost, 127.0.0.1, ::1 and this host's name. */
  static List<String> defaultNames() {
    List<String> names = new ArrayList<>(List.of("localhost", "127.0.0.1", "::1"));
    try {
      String host = InetAddress.getLocalHost().getHostName();
      if (host != null && host.matches("[A-Za-z0-9][A-Za-z0-9.-]*") && !host.equalsIgnoreCase("localhost")) {
        names.add(host);
      }
    } catch (IOException e) {
      // a host without a resolvable name is served as localhost and by address
    }
    return names;
  }

  /** "ip:" plus the canonical address for IP literals, "dns:" plus the lower-cased name otherwise. */
  static String normalize(String name) {
    String n = name.strip();
    if (isIpLiteral(n)) {
      try {
        return "ip:" + InetAddress.getByName(n).getHostAddress();
      } catch (IOException e) {
        throw new IllegalArgumentException("not an IP address: " + name);
      }
    }
    if (!n.matches("[A-Za-z0-9*][A-Za-z0-9.-]*")) {
      throw new IllegalArgumentException("not a host name or IP address: '" + name + "'");
    }
    return "dns:" + n.toLowerCase(Locale.ROOT);
  }

  private static boolean isIpLiteral(String n) {
    return n.contains(":") || n.matches("\\d{1,3}(\\.\\d{1,3}){3}");
  }

  /** The certificate's subject alternative names, normalized. */
  static Set<String> names(X509Certificate cert) throws GeneralSecurityException {
    Set<String> out = new LinkedHashSet<>();
    Collection<List<?>> sans = cert.getSubjectAlternativeNames();
    if (sans != null) {
      for (List<?> san : sans) {
        int type = (Integer) san.get(0);
        if (type == 2 || type == 7) {
          out.add(normalize((String) san.get(1)));
        }
      }
    }
    return out;
  }

  private static X509Certificate loadIfGood(Path certFile, Path keyFile, Instant now, Duration renewBefore) {
    if (!Files.exists(certFile) || !Files.exists(keyFile)) {
      return null;
    }
    try {
      X509Certificate cert = parse(Files.readAllBytes(certFile));
      PrivateKey key = readKey(keyFile);
      boolean pairs = cert.getPublicKey() instanceof RSAPublicKey pub && key instanceof RSAPrivateCrtKey priv
          && pub.getModulus().equals(priv.getModulus());
      boolean current = !cert.getNotBefore().toInstant().isAfter(now)
          && cert.getNotAfter().toInstant().isAfter(now.plus(renewBefore));
      return pairs && current ? cert : null;
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      return null;
    }
  }

  private static boolean signedBy(X509Certificate cert, X509Certificate ca) {
    try {
      cert.verify(ca.getPublicKey());
      return cert.getIssuerX500Principal().equals(ca.getSubjectX500Principal());
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  // ---- certificates ----

  private static final String SHA256_WITH_RSA = "1.2.840.113549.1.1.11";

  static byte[] certificate(String subject, PublicKey subjectKey, String issuer, PublicKey issuerKey,
                            PrivateKey signingKey, BigInteger serial, Instant notBefore, Instant notAfter,
                            boolean isCa, List<String> names) throws GeneralSecurityException {
    byte[] algorithm = Der.sequence(Der.oid(SHA256_WITH_RSA), Der.nul());
    List<byte[]> extensions = new ArrayList<>();
    extensions.add(extension("2.5.29.19", true,
        isCa ? Der.sequence(Der.bool(true), Der.integer(BigInteger.ZERO)) : Der.sequence()));
    // keyCertSign + cRLSign for the CA; digitalSignature + keyEncipherment for a node
    extensions.add(extension("2.5.29.15", true,
        isCa ? Der.bits(1, new byte[] {0x06}) : Der.bits(5, new byte[] {(byte) 0xa0})));
    extensions.add(extension("2.5.29.14", false, Der.octets(keyId(subjectKey))));
    if (!isCa) {
      extensions.add(extension("2.5.29.35", false, Der.sequence(Der.tlv(0x80, keyId(issuerKey)))));
      extensions.add(extension("2.5.29.37", false,
          Der.sequence(Der.oid("1.3.6.1.5.5.7.3.1"), Der.oid("1.3.6.1.5.5.7.3.2"))));
      List<byte[]> general = new ArrayList<>();
      for (String n : names) {
        if (n.startsWith("ip:")) {
          try {
            general.add(Der.tlv(0x87, InetAddress.getByName(n.substring(3)).getAddress()));
          } catch (IOException e) {
            throw new IllegalArgumentException(n, e);
          }
        } else {
          general.add(Der.tlv(0x82, n.substring(4).getBytes(StandardCharsets.US_ASCII)));
        }
      }
      extensions.add(extension("2.5.29.17", false, Der.sequence(general.toArray(byte[][]::new))));
    }
    byte[] tbs = Der.sequence(
        Der.explicit(0, Der.integer(BigInteger.TWO)),
        Der.integer(serial),
        algorithm,
        name(issuer),
        Der.sequence(Der.time(notBefore), Der.time(notAfter)),
        name(subject),
        subjectKey.getEncoded(),
        Der.explicit(3, Der.sequence(extensions.toArray(byte[][]::new))));
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(signingKey);
    s.update(tbs);
    return Der.sequence(tbs, algorithm, Der.bits(0, s.sign()));
  }

  private static byte[] extension(String oid, boolean critical, byte[] value) {
    return critical ? Der.sequence(Der.oid(oid), Der.bool(true), Der.octets(value))
        : Der.sequence(Der.oid(oid), Der.octets(value));
  }

  private static byte[] name(String commonName) {
    return Der.sequence(Der.set(Der.sequence(Der.oid("2.5.4.3"), Der.utf8(commonName))));
  }

  private static byte[] keyId(PublicKey key) throws GeneralSecurityException {
    return MessageDigest.getInstance("SHA-1").digest(key.getEncoded());
  }

  private static BigInteger serial() {
    return new BigInteger(120, RANDOM).setBit(119);
  }

  private static KeyPair rsa() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048, RANDOM);
    return g.generateKeyPair();
  }

  static X509Certificate parse(byte[] derOrPem) throws GeneralSecurityException {
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(derOrPem));
  }

  // ---- files ----

  static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  static PrivateKey readKey(Path file) throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
    int end = pem.indexOf("-----END PRIVATE KEY-----");
    if (begin < 0 || end < begin) {
      throw new GeneralSecurityException(file + " holds no PKCS#8 private key");
    }
    byte[] der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
    return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
  }

  private static void writeKey(Path file, PrivateKey key) throws IOException {
    aimos.chaos.cli.Secrets.writePrivate(file, pem("PRIVATE KEY", key.getEncoded()));
  }

  private static void writePublic(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void createPrivateDir(Path dir) throws IOException {
    Files.createDirectories(dir);
    try {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system: the files keep the platform's defaults
    }
  }
}
