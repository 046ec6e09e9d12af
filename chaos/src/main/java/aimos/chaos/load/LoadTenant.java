package aimos.chaos.load;

import aimos.chaos.drill.AdminClient;

/** Creates a tenant for a load run through the admin API, with limits far above any load this tool can make. */
final class LoadTenant {
  private LoadTenant() {}

  static String create(String management, String adminToken) {
    AdminClient admin = new AdminClient(management, adminToken, "");
    String id = "load-" + Long.toString(System.currentTimeMillis(), 36);
    admin.admin("POST", "/admin/tenants", """
        {"id": "%s", "name": "load run", "plan": {"requestsPerMinute": 100000000, "tokensPerMinute": 100000000000,
         "monthlyBudgetUsd": "1000000000", "maxConcurrentRequests": 100000}}""".formatted(id));
    String key = admin.admin("POST", "/admin/tenants/" + id + "/keys", null).get("apiKey").asText();
    System.out.println("Created tenant " + id + " for this run");
    return key;
  }
}
