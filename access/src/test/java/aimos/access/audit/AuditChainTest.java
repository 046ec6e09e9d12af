package aimos.access.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class AuditChainTest {
  private static final KeyPair KEYS = keys();

  private static KeyPair keys() {
    try {
      return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static List<AuditRecord> chain(int n) {
    List<AuditRecord> out = new ArrayList<>();
    AuditRecord prev = null;
    for (int i = 0; i < n; i++) {
      prev = AuditChain.next(prev, 1_800_000_000_000L + i, "config:admin-token", "admin", "PUT /admin/tenants/{id}/plan",
          "/admin/tenants/acme/plan", "req-" + i, "{\"status\":200}", Optional.of(KEYS.getPrivate()));
      out.add(prev);
    }
    return out;
  }

  private static Optional<String> verify(List<AuditRecord> records) {
    AuditVerifier v = new AuditVerifier(Optional.of(KEYS.getPublic()));
    for (AuditRecord r : records) {
      if (!v.accept(r)) {
        break;
      }
    }
    return v.problem();
  }

  private static AuditRecord with(AuditRecord r, UnaryOperator<String> summary) {
    return new AuditRecord(r.seq(), r.atMillis(), r.actor(), r.role(), r.action(), r.target(), r.requestId(),
        summary.apply(r.summary()), r.prevHash(), r.hash(), r.signature());
  }

  @Test
  void anUntouchedChainVerifies() {
    AuditVerifier v = new AuditVerifier(Optional.of(KEYS.getPublic()));
    chain(50).forEach(v::accept);
    assertEquals(Optional.empty(), v.problem());
    assertEquals(50, v.checked());
    assertEquals(AuditChain.GENESIS, chain(1).get(0).prevHash());
  }

  @Test
  void aChangedRecordIsFound() {
    List<AuditRecord> c = chain(10);
    c.set(4, with(c.get(4), s -> s.replace("200", "201")));
    assertEquals(Optional.of("record 5 was changed: its fields do not give its hash"), verify(c));
  }

  @Test
  void aRemovedRecordIsFound() {
    List<AuditRecord> c = chain(10);
    c.remove(6);
    assertTrue(verify(c).orElseThrow().startsWith("record 7 is missing"), verify(c).toString());
  }

  @Test
  void reorderedRecordsAreFound() {
    List<AuditRecord> c = chain(10);
    AuditRecord a = c.get(2);
    c.set(2, c.get(3));
    c.set(3, a);
    assertTrue(verify(c).isPresent());
  }

  @Test
  void aChainRebuiltWithoutTheKeyIsFound() {
    // whoever can write the table recomputes every hash after a change: only the signature tells
    List<AuditRecord> c = chain(5);
    List<AuditRecord> forged = new ArrayList<>(c.subList(0, 2));
    AuditRecord prev = forged.get(1);
    for (AuditRecord r : c.subList(2, 5)) {
      prev = AuditChain.next(prev, r.atMillis(), "someone-else", r.role(), r.action(), r.target(), r.requestId(),
          r.summary(), Optional.of(keys().getPrivate()));
      forged.add(prev);
    }
    assertEquals(Optional.of("record 3 has no valid signature of the cluster's audit key"), verify(forged));
  }

  @Test
  void keysReadFromPem() {
    var priv = AuditChain.privateKey(AuditChain.pem("PRIVATE KEY", KEYS.getPrivate().getEncoded()));
    var pub = AuditChain.publicKey(AuditChain.pem("PUBLIC KEY", KEYS.getPublic().getEncoded()));
    AuditRecord r = AuditChain.next(null, 1, "a", "admin", "POST /admin/models", "/admin/models", "r", "{}",
        Optional.of(priv));
    assertTrue(AuditChain.signatureMatches(pub, r));
    assertTrue(AuditChain.signatureMatches(AuditChain.publicKeyOf(priv), r), "the public key follows from the private");
    assertFalse(AuditChain.signatureMatches(keys().getPublic(), r));
  }
}
