package aimos.node.access;

import static aimos.access.token.Role.BILLING;
import static aimos.access.token.Role.OPERATOR;
import static aimos.access.token.Role.SECOPS;
import static aimos.access.token.Role.VIEWER;

import aimos.access.token.Role;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which roles may call which admin route: deny by default. A route that no rule names is open to {@link Role#ADMIN}
 * only, so a new route is closed until it is given its roles here. {@code ADMIN} is admitted everywhere except where
 * a rule keeps a duty apart from it (fault injection and drills are for {@code secops} alone).
 */
public final class AccessPolicy {
  /** One rule: a method and a path template ({@code {x}} matches one path segment) and the roles it admits. */
  public record Rule(String method, String template, Set<Role> roles, Pattern pattern) {
    static Rule of(String method, String template, Role... roles) {
      Set<Role> set = EnumSet.of(Role.ADMIN);
      set.addAll(List.of(roles));
      return only(method, template, set.toArray(Role[]::new));
    }

    /** A rule that does not admit {@code ADMIN}: duties kept apart from it (fault injection). */
    static Rule only(String method, String template, Role... roles) {
      String regex = Pattern.quote(template).replaceAll("\\{[a-z]+}", "\\\\E[^/]+\\\\Q");
      return new Rule(method, template, Set.of(roles), Pattern.compile(regex));
    }

    boolean matches(String m, String path) {
      return method.equals(m) && pattern.matcher(path).matches();
    }
  }

  /** Every admin route and its roles; the README's role table is this list. */
  public static final List<Rule> RULES = List.of(
      Rule.of("GET", "/admin/whoami", Role.values()),
      // tenants and keys
      Rule.of("POST", "/admin/tenants", OPERATOR, BILLING),
      Rule.of("GET", "/admin/tenants", VIEWER, OPERATOR, BILLING),
      Rule.of("GET", "/admin/tenants/{id}", VIEWER, OPERATOR, BILLING),
      Rule.of("PUT", "/admin/tenants/{id}/plan", BILLING),
      Rule.of("POST", "/admin/tenants/{id}/suspend", OPERATOR, BILLING),
      Rule.of("POST", "/admin/tenants/{id}/resume", OPERATOR, BILLING),
      Rule.of("POST", "/admin/tenants/{id}/keys", OPERATOR),
      Rule.of("DELETE", "/admin/tenants/{id}/keys/{key}", OPERATOR),
      Rule.of("GET", "/admin/tenants/{id}/location", VIEWER, OPERATOR),
      Rule.of("GET", "/admin/tenants/{id}/journal-writers", VIEWER, OPERATOR),
      // usage and money
      Rule.of("GET", "/admin/tenants/{id}/usage", VIEWER, BILLING),
      Rule.of("GET", "/admin/tenants/{id}/usage/daily", VIEWER, BILLING),
      Rule.of("GET", "/admin/tenants/{id}/usage/hourly", VIEWER, BILLING),
      Rule.of("GET", "/admin/tenants/{id}/usage/lines", VIEWER, BILLING),
      Rule.of("GET", "/admin/tenants/{id}/ledger", VIEWER, BILLING),
      Rule.of("GET", "/admin/tenants/{id}/ledger/export", VIEWER, BILLING),
      Rule.of("GET", "/admin/prices", VIEWER, OPERATOR, BILLING),
      Rule.of("POST", "/admin/prices", BILLING),
      Rule.of("POST", "/admin/reconciliation", OPERATOR, BILLING),
      // invoices and credit notes
      Rule.of("GET", "/admin/tenants/{id}/invoices", VIEWER, BILLING),
      Rule.of("GET", "/admin/tenants/{id}/sla", VIEWER, BILLING),
      Rule.of("POST", "/admin/tenants/{id}/invoices/{month}/draft", BILLING),
      Rule.of("GET", "/admin/invoices/{number}", VIEWER, BILLING),
      Rule.of("POST", "/admin/invoices/{number}/finalize", BILLING),
      Rule.of("POST", "/admin/invoices/close", BILLING),
      Rule.of("POST", "/admin/invoices/{number}/void", BILLING),
      Rule.of("GET", "/admin/invoices/{number}/credit-notes", VIEWER, BILLING),
      Rule.of("POST", "/admin/invoices/{number}/credit-notes", BILLING),
      // how tenants are told: budget alerts and webhooks
      Rule.of("GET", "/admin/tenants/{id}/budget-alerts", VIEWER, OPERATOR, BILLING),
      Rule.of("PUT", "/admin/tenants/{id}/budget-alerts", BILLING),
      Rule.of("GET", "/admin/tenants/{id}/webhooks", VIEWER, OPERATOR, BILLING),
      Rule.of("POST", "/admin/tenants/{id}/webhooks", OPERATOR, BILLING),
      Rule.of("GET", "/admin/tenants/{id}/webhooks/{endpoint}", VIEWER, OPERATOR, BILLING),
      Rule.of("DELETE", "/admin/tenants/{id}/webhooks/{endpoint}", OPERATOR, BILLING),
      Rule.of("POST", "/admin/tenants/{id}/webhooks/{endpoint}/disable", OPERATOR, BILLING),
      Rule.of("POST", "/admin/tenants/{id}/webhooks/{endpoint}/enable", OPERATOR, BILLING),
      Rule.of("POST", "/admin/tenants/{id}/webhooks/{endpoint}/rotate-secret", OPERATOR, BILLING),
      Rule.of("GET", "/admin/tenants/{id}/webhooks/{endpoint}/deliveries", VIEWER, OPERATOR, BILLING),
      // a tenant's personal data (GDPR): its export and erasure; ADMIN alone
      Rule.of("GET", "/admin/tenants/{id}/export"),
      Rule.of("POST", "/admin/tenants/{id}/erase"),
      // models and sandboxes
      Rule.of("GET", "/admin/models", VIEWER, OPERATOR, BILLING),
      Rule.of("POST", "/admin/models", OPERATOR),
      Rule.of("GET", "/admin/models/{name}", VIEWER, OPERATOR, BILLING),
      Rule.of("POST", "/admin/models/{name}/versions", OPERATOR),
      Rule.of("POST", "/admin/models/{name}/versions/{version}/retire", OPERATOR),
      Rule.of("GET", "/admin/models/{name}/leases", VIEWER, OPERATOR),
      Rule.of("GET", "/admin/sandboxes", VIEWER, OPERATOR, SECOPS),
      // security operations: breaking things on purpose is kept apart from administering them
      Rule.only("POST", "/admin/sandboxes/{model}/{version}/faults", SECOPS),
      Rule.only("POST", "/admin/chaos/drills/{drill}", SECOPS),
      Rule.of("GET", "/admin/chaos/runs/{id}", VIEWER, SECOPS),
      Rule.of("GET", "/admin/audit", SECOPS),
      Rule.of("GET", "/admin/audit/public-key", SECOPS, VIEWER),
      Rule.of("GET", "/admin/audit/verify", SECOPS),
      // admin tokens: rules name them so that audit records show their templates; ADMIN alone
      Rule.of("GET", "/admin/tokens"),
      Rule.of("POST", "/admin/tokens"),
      Rule.of("POST", "/admin/tokens/{id}/rotate"),
      Rule.of("DELETE", "/admin/tokens/{id}")
  );

  private final List<Rule> rules;

  public AccessPolicy(List<Rule> rules) {
    this.rules = List.copyOf(rules);
  }

  public static AccessPolicy standard() {
    return new AccessPolicy(RULES);
  }

  /** The roles that may call {@code method path}: {@code ADMIN} alone for a route no rule names. */
  public Set<Role> rolesFor(String method, String path) {
    for (Rule r : rules) {
      if (r.matches(method, path)) {
        return r.roles();
      }
    }
    return Set.of(Role.ADMIN);
  }

  /** The template of the rule that matches ({@code /admin/tenants/{id}/plan}), or the path itself. */
  public String templateFor(String method, String path) {
    for (Rule r : rules) {
      if (r.matches(method, path)) {
        return r.template();
      }
    }
    return path;
  }

  public boolean allows(Role role, String method, String path) {
    return role != Role.TENANT_ADMIN && rolesFor(method, path).contains(role);
  }

  /** The admitted roles as the API names them, for a refusal's message. */
  public String describe(String method, String path) {
    List<String> names = new ArrayList<>();
    for (Role r : Role.values()) {
      if (rolesFor(method, path).contains(r)) {
        names.add(r.label());
      }
    }
    return String.join(", ", names);
  }
}
