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

  public KeyCheck(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
  }

  CompletionStage<Optional<String>> tenantOf(Optional<String> authorization) {
    Optional<ApiKeys.Presented> key = authorization.flatMap(h -> ApiKeys.parse(BearerToken.of(h)));
    if (key.isEmpty()) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return ClusterSharding.get(system).entityRefFor(TenantEntity.ENTITY_KEY, key.get().tenantId())
        .<TenantEntity.Admission>ask(rt -> new TenantEntity.Authenticate(key.get().secret(), rt), timeout)
        .thenApply(a -> a instanceof TenantEntity.Admitted ok ? Optional.of(ok.tenantId()) : Optional.empty());
  }
}
