package aimos.tenant;

/**
 * What a tenant's events built: created or not, name, plan, keys, the month's usage and the dedup window. It is
 * changed by {@link #apply} only (in place, on the entity's thread); snapshots are immutable copies taken by
 * {@link TenantSnapshots}.
 */
public final class TenantState {
  boolean created;
  String displayName = "";
  Plan plan;
  final KeyRing keys = new KeyRing();
  final MonthToDate month = new MonthToDate();
  final RecentRequests recent = new RecentRequests();
  final BudgetAlerts alerts = new BudgetAlerts();
  boolean suspended;
  String suspendReason = "";
  long suspendedAtMillis;

  public boolean isCreated() {
    return created;
  }

  public long monthSpendMicros() {
    return month.spendMicros;
  }

  TenantState apply(TenantEntity.Event event) {
    if (event instanceof TenantEntity.UsageRecorded e) {
      month.add(e.month(), e.units().tokens(), e.chargeMicros());
      recent.add(new TenantEntity.Recorded(e.requestId(), e.model(), e.version(), e.units(), e.chargeMicros(), false,
          e.inputFingerprint()), e.recordedAtMillis());
    } else if (event instanceof TenantEntity.TenantCreated e) {
      created = true;
      displayName = e.displayName();
      plan = e.plan();
    } else if (event instanceof TenantEntity.PlanChanged e) {
      plan = e.plan();
    } else if (event instanceof TenantEntity.ApiKeyIssued e) {
      keys.issued(e.keyId(), e.salt(), e.hash(), e.issuedAtMillis(), KeyScope.ofLabel(e.scope()));
    } else if (event instanceof TenantEntity.ApiKeyRevoked e) {
      keys.revoked(e.keyId());
    } else if (event instanceof TenantEntity.BudgetThresholdCrossed e) {
      alerts.crossed(e.month(), e.percent());
    } else if (event instanceof TenantEntity.BudgetAlertsSet e) {
      alerts.percents = java.util.List.copyOf(e.percents());
    } else if (event instanceof TenantEntity.TenantSuspended e) {
      suspended = true;
      suspendReason = e.reason();
      suspendedAtMillis = e.suspendedAtMillis();
    } else if (event instanceof TenantEntity.TenantResumed) {
      suspended = false;
      suspendReason = "";
      suspendedAtMillis = 0;
    }
    return this;
  }

  TenantEntity.BudgetAlertStatus budgetAlerts(String tenantId, String currentMonth) {
    return new TenantEntity.BudgetAlertStatus(tenantId, alerts.effective(), alerts.percents.isEmpty(), currentMonth,
        alerts.crossedIn(currentMonth), plan == null ? 0 : plan.monthlyBudgetMicros(), month.spendIn(currentMonth));
  }

  TenantEntity.Summary summary(String tenantId) {
    return new TenantEntity.Summary(tenantId, displayName, plan, keys.infos(), month.month, month.requests,
        month.tokens, month.spendMicros, suspended, suspendReason, suspendedAtMillis);
  }
}
