package aimos.node.access;

import aimos.access.token.AdminTokenEntity;
import aimos.access.token.AdminTokenSecret;
import aimos.access.token.LoginThrottle;
import aimos.access.token.Principal;
import aimos.access.token.Role;
import aimos.access.token.TokenRecord;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Who presents a bearer token on the admin API: one of the configured bootstrap tokens (admin, secops), or an issued
 * admin token, checked against its record (fetched from {@link AdminTokenEntity} and trusted for a short while, so
 * a revocation reaches every node within that time). Failed attempts are throttled per client address.
 */
public final class Authenticator {
  /** The outcome of one attempt. */
  public sealed interface Outcome permits Authenticated, Refused, Throttled {}

  public record Authenticated(Principal principal) implements Outcome {}

  public record Refused(String message) implements Outcome {}

  public record Throttled(Duration retryAfter) implements Outcome {}

  private final byte[] adminToken;
  private final byte[] secopsToken;
  private final Function<String, CompletionStage<Optional<TokenRecord>>> lookup;
  private final LoginThrottle throttle;
  private final Duration cacheTtl;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

  private record Cached(TokenRecord record, long fetchedAtNanos) {}

  public Authenticator(String adminToken, String secopsToken,
                       Function<String, CompletionStage<Optional<TokenRecord>>> lookup, LoginThrottle throttle,
                       Duration cacheTtl, Clock clock, LongSupplier nanoTime) {
    this.adminToken = adminToken.getBytes(StandardCharsets.UTF_8);
    this.secopsToken = secopsToken.getBytes(StandardCharsets.UTF_8);
    this.lookup = lookup;
    this.throttle = throttle;
    this.cacheTtl = cacheTtl;
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  public CompletionStage<Outcome> authenticate(String token, String client) {
    Duration wait = throttle.retryAfter(client);
    if (!wait.isZero()) {
      return CompletableFuture.completedFuture(new Throttled(wait));
    }
    if (token.isEmpty()) {
      return CompletableFuture.completedFuture(new Refused("send 'Authorization: Bearer <token>' with an admin "
          + "token (the configured AIMOS_ADMIN_TOKEN, or one issued with POST /admin/tokens)"));
    }
    byte[] presented = token.getBytes(StandardCharsets.UTF_8);
    if (adminToken.length > 0 && MessageDigest.isEqual(presented, adminToken)) {
      return CompletableFuture.completedFuture(new Authenticated(Principal.configured("admin-token", Role.ADMIN)));
    }
    if (secopsToken.length > 0 && MessageDigest.isEqual(presented, secopsToken)) {
      return CompletableFuture.completedFuture(new Authenticated(Principal.configured("secops-token", Role.SECOPS)));
    }
    Optional<AdminTokenSecret.Presented> parsed = AdminTokenSecret.parse(token);
    if (parsed.isEmpty()) {
      return CompletableFuture.completedFuture(failed(client));
    }
    return record(parsed.get().id()).thenApply(record -> {
      if (record.isPresent() && record.get().accepts(parsed.get().secret(), clock.millis())) {
        TokenRecord r = record.get();
        return (Outcome) new Authenticated(new Principal(r.name(), r.id(), r.role(), ""));
      }
      return failed(client);
    });
  }

  /** Forgets a token's record on this node at once (after this node revoked or rotated it). */
  public void forget(String tokenId) {
    cache.remove(tokenId);
  }

  private Outcome failed(String client) {
    throttle.failed(client);
    return new Refused("the token is wrong, revoked or expired");
  }

  private CompletionStage<Optional<TokenRecord>> record(String id) {
    Cached c = cache.get(id);
    long now = nanoTime.getAsLong();
    if (c != null && now - c.fetchedAtNanos() < cacheTtl.toNanos()) {
      return CompletableFuture.completedFuture(Optional.of(c.record()));
    }
    return lookup.apply(id).thenApply(found -> {
      // only tokens that exist are kept, so guessed ids cannot fill the cache
      found.ifPresentOrElse(r -> cache.put(id, new Cached(r, nanoTime.getAsLong())), () -> cache.remove(id));
      return found;
    });
  }
}
