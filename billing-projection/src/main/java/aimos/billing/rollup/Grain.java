package aimos.billing.rollup;

/**
 * How finely a rollup row cuts a tenant's usage. Day rows live in a partition per (tenant, month), hour rows in a
 * partition per (tenant, day), so every partition holds at most 31 (or 24) x models x versions rows.
 */
public enum Grain {
  DAY,
  HOUR
}
