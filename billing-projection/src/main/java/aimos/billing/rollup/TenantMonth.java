package aimos.billing.rollup;

/** A tenant and a billing month ("2026-11", UTC). */
public record TenantMonth(String tenantId, String month) {}
