package aimos.access.token;

import aimos.serialization.KryoSerializable;
import java.util.Arrays;

/**
 * What the cluster keeps of one admin token: never the secret, only its salted hash, and during a rotation's overlap
 * also the previous one's.
 */
public record TokenRecord(String id, String name, Role role, byte[] salt, byte[] hash, long issuedAtMillis,
                          String issuedBy, byte[] previousSalt, byte[] previousHash, long previousValidUntilMillis,
                          long rotatedAtMillis, long revokedAtMillis, String revokedBy) implements KryoSerializable {

  public boolean revoked() {
    return revokedAtMillis > 0;
  }

  /** Whether {@code secret} is this token's current secret, or its previous one still within the overlap. */
  public boolean accepts(String secret, long nowMillis) {
    if (revoked()) {
      return false;
    }
    boolean current = AdminTokenSecret.matches(salt, hash, secret);
    boolean previous = previousHash.length > 0 && nowMillis < previousValidUntilMillis
        && AdminTokenSecret.matches(previousSalt, previousHash, secret);
    return current | previous;
  }

  TokenRecord rotated(byte[] newSalt, byte[] newHash, long at, long previousValidUntil) {
    return new TokenRecord(id, name, role, newSalt, newHash, issuedAtMillis, issuedBy, salt, hash, previousValidUntil,
        at, revokedAtMillis, revokedBy);
  }

  TokenRecord revokedAt(long at, String by) {
    return new TokenRecord(id, name, role, salt, hash, issuedAtMillis, issuedBy, previousSalt, previousHash,
        previousValidUntilMillis, rotatedAtMillis, at, by);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenRecord t && id.equals(t.id) && name.equals(t.name) && role == t.role
        && Arrays.equals(salt, t.salt) && Arrays.equals(hash, t.hash) && issuedAtMillis == t.issuedAtMillis
        && issuedBy.equals(t.issuedBy) && Arrays.equals(previousSalt, t.previousSalt)
        && Arrays.equals(previousHash, t.previousHash) && previousValidUntilMillis == t.previousValidUntilMillis
        && rotatedAtMillis == t.rotatedAtMillis && revokedAtMillis == t.revokedAtMillis
        && revokedBy.equals(t.revokedBy);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "TokenRecord[id=" + id + ", name=" + name + ", role=" + role.label() + ", revoked=" + revoked() + "]";
  }
}
