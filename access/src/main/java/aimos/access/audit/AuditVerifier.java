package aimos.access.audit;

import java.security.PublicKey;
import java.util.Optional;

/**
 * Walks the audit log in order and finds the first record that was changed, removed, inserted or reordered, or whose
 * signature does not verify. Feed it every record from seq 1 on; it keeps only the previous record.
 */
public final class AuditVerifier {
  private final Optional<PublicKey> key;
  private AuditRecord previous;
  private long checked;
  private String problem;

  public AuditVerifier(Optional<PublicKey> key) {
    this.key = key;
  }

  /** Checks the next record; false once a problem is found (and from then on). */
  public boolean accept(AuditRecord r) {
    if (problem != null) {
      return false;
    }
    long expectedSeq = previous == null ? 1 : previous.seq() + 1;
    String expectedPrev = previous == null ? AuditChain.GENESIS : previous.hash();
    if (r.seq() != expectedSeq) {
      problem = "record " + expectedSeq + " is missing or out of order (found " + r.seq() + " next)";
    } else if (!r.prevHash().equals(expectedPrev)) {
      problem = "record " + r.seq() + " does not follow record " + (r.seq() - 1)
          + " (its previous hash differs): a record was removed, inserted or reordered before it";
    } else if (!r.hash().equals(AuditChain.hash(r.prevHash(), r.seq(), r.atMillis(), r.actor(), r.role(),
        r.action(), r.target(), r.requestId(), r.summary()))) {
      problem = "record " + r.seq() + " was changed: its fields do not give its hash";
    } else if (key.isPresent() && !AuditChain.signatureMatches(key.get(), r)) {
      problem = "record " + r.seq() + " has no valid signature of the cluster's audit key";
    }
    if (problem != null) {
      return false;
    }
    previous = r;
    checked++;
    return true;
  }

  public long checked() {
    return checked;
  }

  public Optional<String> problem() {
    return Optional.ofNullable(problem);
  }

  /** The last good record's seq (0 when none), where the next page starts. */
  public long lastSeq() {
    return previous == null ? 0 : previous.seq();
  }
}
