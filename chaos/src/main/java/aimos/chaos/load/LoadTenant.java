package aimos.chaos.load;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Creates a tenant for a load run through the admin API, with limits far above any load this tool can make. */
final class LoadTenant {
  private static final Pattern API_KEY = Pattern.compile("\"apiKey\"\\s*:\\s*\"([^\"]+)\"");

  private LoadTenant() {}

  static String create(String management, String adminToken) {
    String id = "load-" + Long.toString(System.currentTimeMillis(), 36);
    String plan = """
        {"id": "%s", "name": "load run", "plan": {"requestsPerMinute": 100000000, "tokensPerMinute": 100000000000,
         "monthlyBudgetUsd": "1000000000", "maxConcurrentRequests": 100000}}""".formatted(id);
    post(management, adminToken, "/admin/tenants", plan);
    String body = post(management, adminToken, "/admin/tenants/" + id + "/keys", null);
    Matcher m = API_KEY.matcher(body);
    if (!m.find()) {
      throw new IllegalStateException("the admin API returned no key: " + body);
    }
    System.out.println("Created tenant " + id + " for this run");
    return m.group(1);
  }

  private static String post(String management, String token, String path, String body) {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + management + path))
        .header("Authorization", "Bearer " + token)
        .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build();
    try {
      HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(req, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() / 100 != 2) {
        throw new IllegalStateException("POST " + path + " answered " + r.statusCode() + ": " + r.body());
      }
      return r.body();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot reach the management API at " + management + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
