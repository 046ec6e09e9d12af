package aimos.node.gateway;

import aimos.node.BearerToken;
import aimos.tenant.ApiKeys;
import aimos.tenant.TenantEntity;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * Checks a REST caller's API key with its tenant entity, for the routes that run no inference (model lists and
 * metadata); inference routes have the gateway check it. The stage holds the tenant id of a valid key, is empty for a
 * missing, malformed, unknown or revoked one, and fails if the tenant service does not answer.
 */
public final class KeyCheck {
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final KnownNames tenants;

  public KeyCheck(ActorSystem<?> system, Duration timeout, KnownNames tenants) {
    this.system = system;
    this.timeout = timeout;
    this.tenants = tenants;
  }

  /** Keys that checked out lately, as hashes of the presented key, with when that stops counting. */
  private final java.util.concurrent.ConcurrentHashMap<String, Long> recent = new java.util.concurrent.ConcurrentHashMap<>();
  static final Duration RECENT = Duration.ofSeconds(30);
  static final int MAX_RECENT = 10_000;

  /**
   * Whether the key is valid or was within the last {@link #RECENT}: enough to read a large body, which the tenant
   * then admits or refuses with its own check. Keys are remembered as hashes only.
   */
  CompletionStage<Boolean> recentlyValid(Optional<String> authorization) {
    String digest = authorization.map(KeyCheck::digest).orElse("");
    Long until = recent.get(digest);
    if (until != null && until - System.nanoTime() > 0) {
      return CompletableFuture.completedFuture(true);
    }
    return tenantOf(authorization).thenApply(tenant -> {
      if (tenant.isPresent()) {
        if (recent.size() >= MAX_RECENT) {
          recent.clear();
        }
        recent.put(digest, System.nanoTime() + RECENT.toNanos());
      }
      return tenant.isPresent();
    });
  }

  private static String digest(String authorization) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(authorization.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** The tenant of a valid inference key. */
  CompletionStage<Optional<String>> tenantOf(Optional<String> authorization) {
    return check(authorization, false).thenApply(k -> k.map(TenantKey::tenantId));
  }

  /** A valid key of a tenant, and its id. */
  public record TenantKey(String tenantId, String keyId) {}

  /** The tenant and key id of a valid tenant-admin key; empty for anything else, an inference key included. */
  CompletionStage<Optional<TenantKey>> tenantAdminOf(Optional<String> authorization) {
    return check(authorization, true);
  }

  private CompletionStage<Optional<TenantKey>> check(Optional<String> authorization, boolean tenantAdmin) {
    Optional<ApiKeys.Presented> key = authorization.flatMap(h -> ApiKeys.parse(BearerToken.of(h)));
    if (key.isEmpty()) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    String secret = key.get().secret();
    return tenants.contains(key.get().tenantId()).thenCompose(exists -> !exists
        ? CompletableFuture.completedFuture(Optional.<TenantKey>empty())
        : ClusterSharding.get(system).entityRefFor(TenantEntity.ENTITY_KEY, key.get().tenantId())
            .<TenantEntity.Admission>ask(rt -> tenantAdmin ? new TenantEntity.AuthenticateTenantAdmin(secret, rt)
                : new TenantEntity.Authenticate(secret, rt), timeout)
            .thenApply(a -> a instanceof TenantEntity.Admitted ok
                ? Optional.of(new TenantKey(ok.tenantId(), ApiKeys.keyIdOf(secret))) : Optional.empty()));
  }
}
