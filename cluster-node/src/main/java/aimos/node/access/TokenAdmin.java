package aimos.node.access;

import aimos.access.token.AdminTokenEntity;
import aimos.access.token.AdminTokenSecret;
import aimos.access.token.Principal;
import aimos.access.token.Role;
import aimos.access.token.TokenRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Issues, lists, rotates and revokes admin tokens. A token's secret is made here, shown once in the reply and never
 * sent to another node: the cluster keeps only its salted hash.
 */
public final class TokenAdmin {
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final Authenticator authenticator;

  public TokenAdmin(ActorSystem<?> system, Duration timeout, Authenticator authenticator) {
    this.system = system;
    this.timeout = timeout;
    this.authenticator = authenticator;
  }

  /** The record of a token, for {@link Authenticator}'s lookups. */
  public static CompletionStage<Optional<TokenRecord>> lookup(ActorSystem<?> system, Duration timeout, String id) {
    return AdminTokenEntity.ref(system).<AdminTokenEntity.Found>ask(rt -> new AdminTokenEntity.Get(id, rt), timeout)
        .thenApply(AdminTokenEntity.Found::record);
  }

  public CompletionStage<Map<String, Object>> issue(String name, String role, Principal by) {
    String validName = AdminTokenEntity.validName(name);
    Role r = Role.ofTokenLabel(role);
    AdminTokenSecret.Minted minted = AdminTokenSecret.mint();
    return AdminTokenEntity.ref(system).<TokenRecord>askWithStatus(rt -> new AdminTokenEntity.Issue(minted.id(),
        validName, r, minted.salt(), minted.hash(), by.name(), rt), timeout).thenApply(record -> {
          Map<String, Object> m = json(record);
          m.put("token", minted.token());
          m.put("note", "the token is shown once; only a salted hash is stored");
          return m;
        });
  }

  public CompletionStage<List<Map<String, Object>>> list() {
    return AdminTokenEntity.ref(system).<AdminTokenEntity.Listed>ask(AdminTokenEntity.ListAll::new, timeout)
        .thenApply(l -> l.tokens().stream().map(TokenAdmin::json).toList());
  }

  public CompletionStage<Map<String, Object>> rotate(String id, Principal by) {
    AdminTokenSecret.Minted minted = AdminTokenSecret.mint(validId(id));
    return AdminTokenEntity.ref(system).<TokenRecord>askWithStatus(rt -> new AdminTokenEntity.Rotate(id,
        minted.salt(), minted.hash(), by.name(), rt), timeout).thenApply(record -> {
          authenticator.forget(id);
          Map<String, Object> m = json(record);
          m.put("token", minted.token());
          m.put("note", "the token is shown once; the previous one is accepted until previousValidUntil");
          return m;
        });
  }

  public CompletionStage<Map<String, Object>> revoke(String id, Principal by) {
    return AdminTokenEntity.ref(system).<TokenRecord>askWithStatus(rt -> new AdminTokenEntity.Revoke(validId(id),
        by.name(), rt), timeout).thenApply(record -> {
          authenticator.forget(id);
          return json(record);
        });
  }

  private static String validId(String id) {
    if (!AdminTokenSecret.isValidId(id)) {
      throw new IllegalArgumentException("a token id is 16 hex digits (see GET /admin/tokens), was '" + id + "'");
    }
    return id;
  }

  static Map<String, Object> json(TokenRecord r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", r.id());
    m.put("name", r.name());
    m.put("role", r.role().label());
    m.put("issuedAt", Instant.ofEpochMilli(r.issuedAtMillis()).toString());
    m.put("issuedBy", r.issuedBy());
    m.put("rotatedAt", r.rotatedAtMillis() > 0 ? Instant.ofEpochMilli(r.rotatedAtMillis()).toString() : null);
    m.put("previousValidUntil", r.previousValidUntilMillis() > 0
        ? Instant.ofEpochMilli(r.previousValidUntilMillis()).toString() : null);
    m.put("revokedAt", r.revoked() ? Instant.ofEpochMilli(r.revokedAtMillis()).toString() : null);
    m.put("revokedBy", r.revoked() ? r.revokedBy() : null);
    return m;
  }
}
