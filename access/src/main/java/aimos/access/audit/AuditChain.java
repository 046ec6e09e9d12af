package aimos.access.audit;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The audit log's hash chain and signatures. A record's hash covers its predecessor's hash and every field in a fixed,
 * length-prefixed encoding; the first record's predecessor is {@link #GENESIS}. Signatures are Ed25519 over the hash, so
 * whoever holds only the public key can verify.
 */
public final class AuditChain {
  public static final String GENESIS = "0".repeat(64);

  private AuditChain() {}

  public static String hash(String prevHash, long seq, long atMillis, String actor, String role, String action,
                            String target, String requestId, String summary) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeLong(seq);
      out.writeLong(atMillis);
      for (String s : List.of(prevHash, actor, role, action, target, requestId, summary)) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
      }
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray()));
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot hash an audit record", e);
    }
  }

  /** The record that follows {@code previous} (null for the first), hashed and, with a key, signed. */
  public static AuditRecord next(AuditRecord previous, long atMillis, String actor, String role, String action,
                                 String target, String requestId, String summary, Optional<PrivateKey> key) {
    long seq = previous == null ? 1 : previous.seq() + 1;
    String prev = previous == null ? GENESIS : previous.hash();
    String hash = hash(prev, seq, atMillis, actor, role, action, target, requestId, summary);
    return new AuditRecord(seq, atMillis, actor, role, action, target, requestId, summary, prev, hash,
        key.map(k -> sign(k, hash)).orElse(""));
  }

  static String sign(PrivateKey key, String hash) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initSign(key);
      s.update(hash.getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign an audit record: " + e.getMessage(), e);
    }
  }

  static boolean signatureMatches(PublicKey key, AuditRecord r) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initVerify(key);
      s.update(r.hash().getBytes(StandardCharsets.US_ASCII));
      return s.verify(Base64.getDecoder().decode(r.signature()));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  /** An Ed25519 private key from PEM ({@code -----BEGIN PRIVATE KEY-----}, PKCS#8), as openssl genpkey writes it. */
  public static PrivateKey privateKey(String pem) {
    try {
      return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pemBody(pem, "PRIVATE KEY")));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the audit signing key is not an Ed25519 private key in PKCS#8 PEM "
          + "(make one with: openssl genpkey -algorithm ed25519)", e);
    }
  }

  /** The public key of an Ed25519 private key: generated again from the private key's seed. */
  public static PublicKey publicKeyOf(PrivateKey key) {
    try {
      byte[] seed = ((java.security.interfaces.EdECPrivateKey) key).getBytes().orElseThrow();
      java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("Ed25519");
      g.initialize(java.security.spec.NamedParameterSpec.ED25519, new java.security.SecureRandom() {
        @Override
        public void nextBytes(byte[] bytes) {
          System.arraycopy(seed, 0, bytes, 0, Math.min(seed.length, bytes.length));
        }
      });
      return g.generateKeyPair().getPublic();
    } catch (GeneralSecurityException | ClassCastException | java.util.NoSuchElementException e) {
      throw new IllegalArgumentException("not an Ed25519 private key with its seed", e);
    }
  }

  /** An Ed25519 public key from PEM ({@code -----BEGIN PUBLIC KEY-----}). */
  public static PublicKey publicKey(String pem) {
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(pemBody(pem, "PUBLIC KEY")));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("not an Ed25519 public key in PEM (get it with: openssl pkey -pubout)", e);
    }
  }

  /**
   * The signing key at {@code file}, made there (owner-only) on first use: for development and local clusters, whose
   * nodes share that file. Production provisions its key like any other secret.
   */
  public static java.nio.file.Path ensureSigningKey(java.nio.file.Path file) {
    try {
      if (!java.nio.file.Files.exists(file)) {
        java.nio.file.Files.createDirectories(file.toAbsolutePath().getParent());
        byte[] der = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPrivate().getEncoded();
        java.nio.file.Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        java.nio.file.Files.deleteIfExists(tmp);
        java.nio.file.Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        java.nio.file.Files.writeString(tmp, pem("PRIVATE KEY", der));
        java.nio.file.Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      return file;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot create the audit signing key " + file + ": " + e.getMessage(), e);
    }
  }

  public static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(der) + "\n-----END " + type + "-----\n";
  }

  private static byte[] pemBody(String pem, String type) {
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int from = pem.indexOf(begin);
    int to = pem.indexOf(end);
    if (from < 0 || to < from) {
      throw new IllegalArgumentException("expected a PEM block '" + begin + "'");
    }
    return Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
  }
}
