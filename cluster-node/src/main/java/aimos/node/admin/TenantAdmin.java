package aimos.node.admin;

import aimos.billing.ledger.LedgerRepository;
import aimos.billing.ledger.UsageReport;
import aimos.tenant.ApiKeys;
import aimos.tenant.Plan;
import aimos.tenant.TenantEntity;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/** Tenant administration: create, change plan, issue and revoke keys, read usage from the ledger. */
public final class TenantAdmin {
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final LedgerRepository ledger;

  public TenantAdmin(ActorSystem<?> system, Duration timeout, LedgerRepository ledger) {
    this.system = system;
    this.timeout = timeout;
    this.ledger = ledger;
  }

  private EntityRef<TenantEntity.Command> tenant(String id) {
    return ClusterSharding.get(system).entityRefFor(TenantEntity.ENTITY_KEY, validTenantId(id));
  }

  static String validTenantId(String id) {
    if (!ApiKeys.isValidTenantId(id)) {
      throw new IllegalArgumentException("tenant id must be " + ApiKeys.tenantIdRule() + ", was '" + id + "'");
    }
    return id;
  }

  public CompletionStage<TenantEntity.Summary> create(String id, String displayName, Plan plan) {
    return tenant(id).askWithStatus(rt -> new TenantEntity.Create(displayName, plan, rt), timeout);
  }

  public CompletionStage<TenantEntity.Summary> get(String id) {
    return tenant(id).askWithStatus(TenantEntity.GetSummary::new, timeout);
  }

  public CompletionStage<TenantEntity.Summary> changePlan(String id, Plan plan) {
    return tenant(id).askWithStatus(rt -> new TenantEntity.ChangePlan(plan, rt), timeout);
  }

  public CompletionStage<TenantEntity.IssuedKey> issueKey(String id) {
    return tenant(id).askWithStatus(TenantEntity.IssueKey::new, timeout);
  }

  public CompletionStage<TenantEntity.Summary> revokeKey(String id, String keyId) {
    return tenant(id).askWithStatus(rt -> new TenantEntity.RevokeKey(keyId, rt), timeout);
  }

  /** The tenant's ledger rows of a month, one per metered request. */
  public CompletionStage<java.util.List<aimos.billing.ledger.LedgerRow>> ledger(String id, String month) {
    return get(id).thenCompose(s -> ledger.rows(id, month));
  }

  public CompletionStage<UsageReport> usage(String id, String month) {
    return get(id).thenCompose(s -> ledger.usage(id, month));
  }
}
