package aimos.chaos.load;

import aimos.chaos.drill.AdminClient;
import java.util.ArrayList;
import java.util.List;

/** Creates tenants for a load run through the admin API, with limits far above any load this tool can make. */
final class LoadTenant {
  private LoadTenant() {}

  /** {@code count} new tenants; an API key of each. */
  static List<String> create(String management, String adminToken, int count) {
    AdminClient admin = new AdminClient(management, adminToken, "", aimos.chaos.tls.ClientTls.fromEnvironment());
    String run = "load-" + Long.toString(System.currentTimeMillis(), 36);
    List<String> keys = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String id = count == 1 ? run : run + "-" + i;
      admin.admin("POST", "/admin/tenants", """
          {"id": "%s", "name": "load run", "plan": {"requestsPerMinute": 100000000, "tokensPerMinute": 100000000000,
           "monthlyBudgetUsd": "1000000000", "maxConcurrentRequests": 100000}}""".formatted(id));
      keys.add(admin.admin("POST", "/admin/tenants/" + id + "/keys", null).get("apiKey").asText());
    }
    System.out.println(count == 1 ? "Created tenant " + run + " for this run"
        : "Created tenants " + run + "-0 .. " + run + "-" + (count - 1) + " for this run");
    return keys;
  }
}
