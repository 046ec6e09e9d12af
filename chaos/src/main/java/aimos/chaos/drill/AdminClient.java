package aimos.chaos.drill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * The management HTTP API as a drill uses it: admin and secops calls, JSON in and out. Given several nodes' management
 * addresses, a call that cannot reach one node goes to the next (drills take nodes down).
 */
public final class AdminClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http;
  private final aimos.chaos.tls.ClientTls tls;
  private final java.util.List<String> managements;
  private final String adminToken;
  private final String secopsToken;

  public AdminClient(String management, String adminToken, String secopsToken, aimos.chaos.tls.ClientTls tls) {
    this(java.util.List.of(management), adminToken, secopsToken, tls);
  }

  /** Over HTTPS trusting {@code tls}'s CA, or plaintext HTTP. */
  public AdminClient(java.util.List<String> managements, String adminToken, String secopsToken,
                     aimos.chaos.tls.ClientTls tls) {
    this.tls = tls;
    this.http = tls.httpClient().connectTimeout(java.time.Duration.ofSeconds(2)).build();
    this.managements = managements;
    this.adminToken = adminToken;
    this.secopsToken = secopsToken;
  }

  public JsonNode admin(String method, String path, String body) {
    return call(method, path, adminToken, body);
  }

  public JsonNode secops(String method, String path, String body) {
    return call(method, path, secopsToken, body);
  }

  /** Like {@link #admin} but answers null for 404 and 409 (absent, or exists already). */
  public JsonNode adminIfAny(String method, String path, String body) {
    try {
      return admin(method, path, body);
    } catch (DrillFailure e) {
      if (e.status == 404 || e.status == 409) {
        return null;
      }
      throw e;
    }
  }

  private JsonNode call(String method, String path, String token, String body) {
    DrillFailure unreachable = null;
    for (String management : managements) {
      HttpRequest req = HttpRequest.newBuilder(URI.create(tls.url(management, path)))
          .timeout(java.time.Duration.ofSeconds(30))
          .header("Authorization", "Bearer " + token)
          .header("Content-Type", "application/json")
          .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
          .build();
      try {
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
          throw new DrillFailure(r.statusCode(), method + " " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
      } catch (IOException e) {
        unreachable = new DrillFailure(0, "cannot reach the management API at " + management + ": " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DrillFailure(0, "interrupted");
      }
    }
    throw unreachable;
  }

  /** A drill step that could not be carried out (not a failed invariant). */
  public static final class DrillFailure extends RuntimeException {
    final int status;

    DrillFailure(int status, String message) {
      super(message);
      this.status = status;
    }
  }
}
