package aimos.tenant;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A tenant's API keys: salted hashes only, checked in constant time; revoked keys stay listed. */
final class KeyRing {
  record Key(String keyId, byte[] salt, byte[] hash, long issuedAtMillis, boolean revoked, KeyScope scope) {}

  private static final byte[] NO_SALT = new byte[16];
  private static final byte[] NO_HASH = new byte[32];

  private final Map<String, Key> keys = new LinkedHashMap<>();

  void issued(String keyId, byte[] salt, byte[] hash, long issuedAtMillis, KeyScope scope) {
    keys.put(keyId, new Key(keyId, salt, hash, issuedAtMillis, false, scope));
  }

  void restore(Key key) {
    keys.put(key.keyId(), key);
  }

  void revoked(String keyId) {
    Key k = keys.get(keyId);
    if (k != null) {
      keys.put(keyId, new Key(k.keyId(), k.salt(), k.hash(), k.issuedAtMillis(), true, k.scope()));
    }
  }

  Key get(String keyId) {
    return keys.get(keyId);
  }

  Collection<Key> all() {
    return keys.values();
  }

  /** Whether {@code secret} is an active key of {@code scope}; a key of another scope is refused like a wrong one. */
  boolean matches(String secret, KeyScope scope) {
    Key k = keys.get(ApiKeys.keyIdOf(secret));
    if (k == null) {
      // hash anyway, so an unknown key id takes as long as a wrong secret
      ApiKeys.matches(NO_SALT, NO_HASH, secret);
      return false;
    }
    return ApiKeys.matches(k.salt(), k.hash(), secret) && !k.revoked() && k.scope() == scope;
  }

  long active() {
    return keys.values().stream().filter(k -> !k.revoked()).count();
  }

  List<TenantEntity.KeyInfo> infos() {
    List<TenantEntity.KeyInfo> k = new ArrayList<>(keys.size());
    keys.values().forEach(r -> k.add(new TenantEntity.KeyInfo(r.keyId(), r.issuedAtMillis(), r.revoked(),
        r.scope().label())));
    return k;
  }
}
