package aimos.node.admin;

import aimos.billing.webhook.WebhookEndpoints;
import aimos.tenant.Money;
import aimos.tenant.TenantEntity;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * What the admin API says about how tenants are told of their billing: their webhook endpoints
 * ({@code /admin/tenants/{id}/webhooks...}, see {@link WebhookRoutes}) and budget-alert thresholds
 * ({@code GET|PUT /admin/tenants/{id}/budget-alerts}), mounted by {@link AdminRoutes} with the admin API's error
 * format and access policy.
 */
public final class BillingNotifyAdminRoutes extends AllDirectives {
  private final TenantAdmin tenants;
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final WebhookRoutes webhooks;

  public BillingNotifyAdminRoutes(ActorSystem<?> system, Duration timeout, TenantAdmin tenants,
                                  WebhookEndpoints endpoints) {
    this.system = system;
    this.timeout = timeout;
    this.tenants = tenants;
    this.webhooks = new WebhookRoutes(endpoints, AdminRoutes::error);
  }

  private static final java.util.regex.Pattern WEBHOOKS = java.util.regex.Pattern.compile(
      "/admin/tenants/([^/]+)/webhooks(/.*)?");
  private static final java.util.regex.Pattern BUDGET_ALERTS = java.util.regex.Pattern.compile(
      "/admin/tenants/([^/]+)/budget-alerts");

  /**
   * For the audit record: the webhook endpoint a change names, the tenant's endpoints before a new one, or its
   * budget alerts; null for other paths.
   */
  public CompletionStage<Object> before(String path) {
    java.util.regex.Matcher hooks = WEBHOOKS.matcher(path);
    if (hooks.matches()) {
      return webhooks.before(hooks.group(1), hooks.group(2) == null ? "" : hooks.group(2));
    }
    java.util.regex.Matcher alerts = BUDGET_ALERTS.matcher(path);
    if (alerts.matches()) {
      return budgetAlerts(alerts.group(1), null).thenApply(a -> (Object) a);
    }
    return null;
  }

  /** The routes under {@code /admin/tenants/{id}}; {@link AdminRoutes} authenticates and authorizes first. */
  public Route tenantRoutes(String id) {
    return concat(
        pathPrefix("webhooks", () -> webhookRoutes(id)),
        path("budget-alerts", () -> budgetAlertRoutes(id)));
  }

  private Route webhookRoutes(String id) {
    return webhooks.route(id, () -> tenants.get(id));
  }

  private Route budgetAlertRoutes(String id) {
    return concat(
        get(() -> webhooks.respond(StatusCodes.OK, () -> budgetAlerts(id, null))),
        put(() -> webhooks.jsonBody(body -> webhooks.respond(StatusCodes.OK,
            () -> budgetAlerts(id, thresholds(body))))),
        extractMethod(m -> complete(AdminRoutes.error(StatusCodes.METHOD_NOT_ALLOWED,
            m.name() + " is not allowed here; use GET or PUT"))));
  }

  private CompletionStage<Map<String, Object>> budgetAlerts(String id, List<Integer> set) {
    var tenant = ClusterSharding.get(system).entityRefFor(TenantEntity.ENTITY_KEY, TenantAdmin.validTenantId(id));
    CompletionStage<TenantEntity.BudgetAlertStatus> answer = set == null
        ? tenant.askWithStatus(TenantEntity.GetBudgetAlerts::new, timeout)
        : tenant.askWithStatus(rt -> new TenantEntity.SetBudgetAlerts(set, rt), timeout);
    return answer.thenApply(BillingNotifyAdminRoutes::json);
  }

  static Map<String, Object> json(TenantEntity.BudgetAlertStatus s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tenantId", s.tenantId());
    m.put("thresholds", s.percents());
    m.put("defaults", s.defaults());
    m.put("month", s.month());
    m.put("crossed", s.crossed());
    m.put("monthlyBudgetUsd", Money.format(s.budgetMicros()));
    m.put("monthSpendUsd", Money.format(s.spendMicros()));
    return m;
  }

  /** {@code {"thresholds": [50, 80, 100]}}: whole numbers; the tenant checks range, order and count. */
  static List<Integer> thresholds(JsonNode body) {
    JsonNode t = body.get("thresholds");
    if (t == null || !t.isArray()) {
      throw new IllegalArgumentException("field 'thresholds' is required: a list of percentages of the monthly "
          + "budget, for example {\"thresholds\": [50, 80, 100]}");
    }
    if (t.size() > 10) {
      throw new IllegalArgumentException("thresholds must hold 1 to 10 percentages, was " + t.size());
    }
    List<Integer> percents = new ArrayList<>();
    for (JsonNode p : t) {
      if (!p.isIntegralNumber() || !p.canConvertToInt()) {
        throw new IllegalArgumentException("each threshold must be a whole percentage from 1 to 100, was " + p);
      }
      percents.add(p.intValue());
    }
    for (var it = body.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("thresholds")) {
        throw new IllegalArgumentException("unknown field '" + f + "'; send {\"thresholds\": [...]}");
      }
    }
    return percents;
  }
}
