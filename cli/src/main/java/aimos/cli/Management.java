package aimos.cli;

import aimos.chaos.tls.ClientTls;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * The management HTTP API as the CLI calls it: a bearer token in a header, JSON in and out, and every failure a
 * {@link CliFailure} whose message says what went wrong and what to do about it.
 */
public final class Management {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ADDRESS = Pattern.compile("(https?://)?[A-Za-z0-9._\\-\\[\\]:]+:[0-9]{1,5}/?");

  private final String address;
  private final ClientTls tls;
  private final String token;
  private final HttpClient http;

  Management(String address, ClientTls tls, String token) {
    this.address = address.endsWith("/") ? address.substring(0, address.length() - 1) : address;
    this.tls = tls;
    this.token = token;
    this.http = tls.httpClient().connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** Whether {@code address} is {@code HOST:PORT} or an http(s) URL of one. */
  static boolean validAddress(String address) {
    return ADDRESS.matcher(address).matches();
  }

  String address() {
    return address;
  }

  ClientTls tls() {
    return tls;
  }

  JsonNode get(String path) {
    return json(send("GET", path, null));
  }

  JsonNode post(String path, Object body) {
    return json(send("POST", path, body));
  }

  JsonNode put(String path, Object body) {
    return json(send("PUT", path, body));
  }

  JsonNode delete(String path) {
    return json(send("DELETE", path, null));
  }

  /** The answer's body as it came, for exports (CSV, NDJSON). */
  String raw(String path) {
    return send("GET", path, null);
  }

  private JsonNode json(String body) {
    try {
      return body.isBlank() ? JSON.nullNode() : JSON.readTree(body);
    } catch (IOException e) {
      throw new CliFailure("the management API at " + address + " did not answer JSON (" + e.getClass().getSimpleName()
          + "); is --management the management port (default 8558), not the gateway?");
    }
  }

  private String send(String method, String path, Object body) {
    HttpRequest.Builder b;
    try {
      b = HttpRequest.newBuilder(URI.create(tls.url(address, path)));
    } catch (IllegalArgumentException e) {
      throw new CliFailure("cannot make a URL of management address '" + address + "' and " + path + ": "
          + e.getMessage());
    }
    b.timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + token).header("Accept", "application/json");
    try {
      if (body == null) {
        b.method(method, HttpRequest.BodyPublishers.noBody());
      } else {
        b.header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    HttpResponse<String> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpTimeoutException e) {
      throw new CliFailure("the management API at " + address + " did not answer " + method + " " + path
          + " in time; check the node's log and try again");
    } catch (IOException e) {
      throw new CliFailure("cannot reach the management API at " + address + " (" + describe(e) + "): is the node "
          + "running? Set --management or AIMOS_MANAGEMENT to its HOST:PORT; " + tlsHint());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliFailure("interrupted");
    }
    if (r.statusCode() / 100 == 2) {
      return r.body();
    }
    throw failure(method, path, r);
  }

  private String tlsHint() {
    return tls.enabled()
        ? "it is reached over TLS trusting " + tls.caFile().orElseThrow() + " (a plaintext node needs "
            + "AIMOS_DEV_PLAINTEXT=1)"
        : "it is reached in plaintext (a TLS node needs AIMOS_TLS_CA_FILE, or the local CA in AIMOS_TLS_DIR)";
  }

  private static String describe(IOException e) {
    if (e instanceof java.net.ConnectException && (e.getMessage() == null || e.getMessage().isBlank())) {
      return "connection refused";
    }
    String m = e.getMessage();
    String kind = e.getClass().getSimpleName();
    return m == null || m.isBlank() ? kind : kind + ": " + m;
  }

  private CliFailure failure(String method, String path, HttpResponse<String> r) {
    String message = r.body();
    try {
      JsonNode err = JSON.readTree(r.body()).path("error").path("message");
      if (err.isTextual()) {
        message = err.asText();
      }
    } catch (IOException ignored) {
      // not the admin API's error format: the body as it came
    }
    message = message == null ? "" : message.strip();
    if (message.length() > 500) {
      message = message.substring(0, 500) + "...";
    }
    int status = r.statusCode();
    String call = method + " " + path;
    return switch (status) {
      case 401 -> new CliFailure("the management API refused the token (401: " + message + "): set AIMOS_ADMIN_TOKEN "
          + "(AIMOS_SECOPS_TOKEN for secops commands) or --token-file to a valid token");
      case 403 -> new CliFailure("forbidden (403): " + message);
      case 404 -> new CliFailure("not found (404): " + message);
      case 409 -> new CliFailure("conflict (409): " + message);
      case 429 -> new CliFailure("too many requests (429): " + message
          + r.headers().firstValue("Retry-After").map(s -> "; retry after " + s + " s").orElse(""));
      case 400 -> new CliFailure("refused (400): " + message);
      case 503 -> new CliFailure("unavailable (503): " + message + "; try again when the cluster is ready");
      default -> new CliFailure(call + " answered " + status + ": " + message);
    };
  }
}
