package aimos.access.token;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What an admin principal may do. Routes name the roles they admit; {@link #ADMIN} is admitted everywhere and is the
 * only role that manages tokens. {@link #TENANT_ADMIN} is never held by an admin token: it is the role of a tenant's
 * own admin API key, confined to that tenant.
 */
public enum Role {
  /** Everything, including issuing and revoking admin tokens. */
  ADMIN,
  /** The cluster, models, versions, sandboxes and leases; tenants and their keys. */
  OPERATOR,
  /** Plans, prices, usage, ledger, invoices, credit notes, budget alerts and webhooks. */
  BILLING,
  /** Fault injection, drills and the audit log. */
  SECOPS,
  /** Reads, never writes. */
  VIEWER,
  /** A tenant's admin key: its own tenant's keys and webhooks. */
  TENANT_ADMIN;

  /** The name used in the API and in events: lower case, with '-' ({@code tenant-admin}). */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** The roles an admin token may carry. */
  public static final java.util.List<Role> TOKEN_ROLES = java.util.List.of(ADMIN, OPERATOR, BILLING, SECOPS, VIEWER);

  public static Role ofTokenLabel(String label) {
    for (Role r : TOKEN_ROLES) {
      if (r.label().equals(label)) {
        return r;
      }
    }
    throw new IllegalArgumentException("role must be one of " + TOKEN_ROLES.stream().map(Role::label)
        .collect(Collectors.joining(", ")) + ", was '" + label + "'");
  }

  public static Role ofLabel(String label) {
    return Arrays.stream(values()).filter(r -> r.label().equals(label)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown role '" + label + "'"));
  }
}
