package aimos.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

/** A plain HTTP client for the management port. */
public final class Http {
  /**
   * A webhook receiver on loopback: each JSON body sent to {@code /hook} is added to {@code received}, answered 204.
   * Its URL is {@code http://127.0.0.1:<port>/hook}.
   */
  public static com.sun.net.httpserver.HttpServer jsonReceiver(java.util.List<JsonNode> received) throws IOException {
    var receiver = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 16);
    receiver.createContext("/hook", ex -> {
      received.add(new ObjectMapper().readTree(ex.getRequestBody().readAllBytes()));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    receiver.start();
    return receiver;
  }

  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final ObjectMapper JSON = new ObjectMapper();

  public record Reply(int status, String body, java.util.Map<String, java.util.List<String>> headers) {
    public Reply(int status, String body) {
      this(status, body, java.util.Map.of());
    }

    public JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (Exception e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
    }
  }

  private Http() {}

  public static Reply call(String method, int port, String path, String token, String body) {
    return call(CLIENT, "http", method, port, path, token, body);
  }

  /** A client that speaks TLS and trusts only {@code trust}'s CA. */
  public static HttpClient tlsClient(javax.net.ssl.SSLContext trust) {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(trust).build();
  }

  public static Reply call(HttpClient client, String scheme, String method, int port, String path, String token,
                           String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(scheme + "://127.0.0.1:" + port + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.body(), r.headers().map());
    } catch (Exception e) {
      throw new AssertionError(method + " " + path + " failed: " + e, e);
    }
  }

  /**
   * A POST written whole before anything is read, as most clients write: an answer the server sends while the body is
   * still arriving and then closes on is lost to such a client.
   */
  public static Reply postWhole(java.net.Socket socket, String path, String token, byte[] body) throws IOException {
    java.io.OutputStream out = socket.getOutputStream();
    out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + (token == null ? "" : "Authorization: Bearer " + token + "\r\n")
        + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
    return readAnswer(socket.getInputStream());
  }

  /** One HTTP/1.1 answer with a Content-Length body; header names in lower case. */
  public static Reply readAnswer(InputStream in) throws IOException {
    java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed before an answer: " + head.toString(StandardCharsets.US_ASCII));
      }
      head.write(b);
    }
    String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
    java.util.Map<String, java.util.List<String>> headers = new java.util.TreeMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.computeIfAbsent(lines[i].substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT),
          k -> new java.util.ArrayList<>()).add(lines[i].substring(colon + 1).strip());
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", java.util.List.of("0")).get(0));
    return new Reply(Integer.parseInt(lines[0].split(" ")[1]),
        new String(in.readNBytes(length), StandardCharsets.UTF_8), headers);
  }

  public static Reply admin(TestCluster c, String method, String path, String body) {
    return c.tls == null ? call(method, c.managementPort(0), path, TestCluster.ADMIN_TOKEN, body)
        : call(c.tlsHttp(), "https", method, c.managementPort(0), path, TestCluster.ADMIN_TOKEN, body);
  }

  /** Creates a tenant with a plan and returns a fresh API key for it. */
  public static String tenantWithKey(TestCluster c, String id, long rpm, int concurrent) {
    Reply created = admin(c, "POST", "/admin/tenants", """
        {"id": "%s", "name": "Tenant %s", "plan": {"requestsPerMinute": %d, "tokensPerMinute": 10000000,
         "monthlyBudgetUsd": "1000.00", "maxConcurrentRequests": %d}}""".formatted(id, id, rpm, concurrent));
    if (created.status() != 201) {
      throw new AssertionError("tenant " + id + ": " + created);
    }
    Reply key = admin(c, "POST", "/admin/tenants/" + id + "/keys", null);
    if (key.status() != 201) {
      throw new AssertionError("key for " + id + ": " + key);
    }
    return key.json().get("apiKey").asText();
  }

  /** Issues a tenant-admin key (manages the tenant's keys and webhooks, runs nothing) for an existing tenant. */
  public static String tenantAdminKey(TestCluster c, String id) {
    Reply key = admin(c, "POST", "/admin/tenants/" + id + "/keys", "{\"scope\": \"tenant-admin\"}");
    if (key.status() != 201 || !key.json().get("scope").asText().equals("tenant-admin")) {
      throw new AssertionError("tenant-admin key for " + id + ": " + key);
    }
    return key.json().get("apiKey").asText();
  }

  public static void textModel(TestCluster c, String name) {
    textModel(c, name, 1);
  }

  public static void textModel(TestCluster c, String name, int replicas) {
    model(c, name, "echo-text", "TOKENS", replicas);
  }

  /** Registers a model with version v1 on {@code runtime}, billed per {@code billingUnit}. */
  public static void model(TestCluster c, String name, String runtime, String billingUnit, int replicas) {
    Reply m = admin(c, "POST", "/admin/models", "{\"name\": \"" + name + "\", \"description\": \"test\"}");
    if (m.status() != 201) {
      throw new AssertionError("model " + name + ": " + m);
    }
    Reply v = admin(c, "POST", "/admin/models/" + name + "/versions",
        "{\"version\": \"v1\", \"runtime\": \"" + runtime + "\", \"billingUnit\": \"" + billingUnit
            + "\", \"replicas\": " + replicas + "}");
    if (v.status() != 201) {
      throw new AssertionError("version of " + name + ": " + v);
    }
  }
}
