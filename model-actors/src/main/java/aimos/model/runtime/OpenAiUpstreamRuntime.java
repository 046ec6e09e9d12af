package aimos.model.runtime;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextResult;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.typesafe.config.Config;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A model served by another OpenAI-compatible server (vLLM, llama.cpp's server, a commercial gateway for GPT-4 or
 * Claude), run as runtime {@code openai:<provider>/<model>}. Providers are configured on the node
 * ({@code aimos.upstream.providers.<name>}: base URL, API key, timeout, retries); the sandbox gets its provider's
 * settings in its environment, never on its command line, and the key is never logged or echoed in an error. Calls
 * that fail for the server's reasons (connection, timeout, 429, 5xx) are retried with backoff; a request the server
 * calls bad (400, 404, 422) is the caller's to fix. Usage is what the server reports (cl100k_base counts if it does
 * not); text streams as the server streams it.
 */
public final class OpenAiUpstreamRuntime implements ModelRuntime {
  public static final String PREFIX = "openai:";
  static final String ENV_BASE_URL = "AIMOS_UPSTREAM_BASE_URL";
  static final String ENV_API_KEY = "AIMOS_UPSTREAM_API_KEY";
  static final String ENV_TIMEOUT_MS = "AIMOS_UPSTREAM_TIMEOUT_MS";
  static final String ENV_RETRIES = "AIMOS_UPSTREAM_RETRIES";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The longest a provider's attempts may take in all (timeout x attempts), so that callers can wait for them. */
  public static final Duration MAX_REQUEST_TIME = Duration.ofMinutes(5);

  /** One configured upstream server. */
  public record Provider(String name, String baseUrl, String apiKey, Duration timeout, int retries) {
    @Override
    public String toString() {
      // the key stays out of logs and messages
      return "Provider[" + name + ", " + baseUrl + ", timeout " + timeout + ", retries " + retries + "]";
    }

    /** What a sandbox of this provider needs in its environment. */
    public Map<String, String> environment() {
      return Map.of(ENV_BASE_URL, baseUrl, ENV_API_KEY, apiKey, ENV_TIMEOUT_MS, Long.toString(timeout.toMillis()),
          ENV_RETRIES, Integer.toString(retries));
    }

    /** The longest one request can take: every attempt timing out, with the backoff between them. */
    public Duration worstCase() {
      return timeout.multipliedBy(retries + 1L).plusMillis(400L * (1L << Math.min(retries, 6)) + 1000);
    }
  }

  /** {@code aimos.upstream.providers}: name to provider. */
  public static Map<String, Provider> providers(Config config) {
    Map<String, Provider> out = new LinkedHashMap<>();
    Config all = config.getConfig("aimos.upstream.providers");
    for (String name : all.root().keySet()) {
      Config p = all.getConfig(name);
      String url = p.getString("base-url").replaceAll("/+$", "");
      if (!url.startsWith("http://") && !url.startsWith("https://")) {
        throw new IllegalArgumentException("aimos.upstream.providers." + name + ".base-url must be an http(s) URL, was "
            + url);
      }
      Provider provider = new Provider(name, url, p.hasPath("api-key") ? p.getString("api-key") : "",
          p.hasPath("timeout") ? p.getDuration("timeout") : Duration.ofSeconds(30),
          p.hasPath("retries") ? p.getInt("retries") : 2);
      if (provider.retries() < 0 || provider.worstCase().compareTo(MAX_REQUEST_TIME) > 0) {
        throw new IllegalArgumentException("aimos.upstream.providers." + name + ": timeout x (retries + 1) must stay "
            + "under " + MAX_REQUEST_TIME.toMinutes() + " minutes, and retries at least 0");
      }
      out.put(name, provider);
    }
    return out;
  }

  /** The provider of a runtime name {@code openai:<provider>/<model>}, or null if it is not one. */
  public static String providerOf(String runtime) {
    if (runtime == null || !runtime.startsWith(PREFIX)) {
      return null;
    }
    String rest = runtime.substring(PREFIX.length());
    int slash = rest.indexOf('/');
    return slash > 0 && slash < rest.length() - 1 ? rest.substring(0, slash) : null;
  }

  private final String name;
  private final String model;
  private final String baseUrl;
  private final String apiKey;
  private final Duration timeout;
  private final int retries;
  private final HttpClient http;
  private final Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

  public OpenAiUpstreamRuntime(String name) {
    this(name, System.getenv());
  }

  OpenAiUpstreamRuntime(String name, Map<String, String> env) {
    if (providerOf(name) == null) {
      throw new IllegalArgumentException("an upstream runtime is named openai:<provider>/<model>, not " + name);
    }
    this.name = name;
    this.model = name.substring(name.indexOf('/') + 1);
    this.baseUrl = env.get(ENV_BASE_URL);
    if (baseUrl == null || baseUrl.isBlank()) {
      throw new IllegalStateException("the sandbox of " + name + " has no " + ENV_BASE_URL + ": is provider "
          + providerOf(name) + " configured on the node?");
    }
    this.apiKey = env.getOrDefault(ENV_API_KEY, "");
    this.timeout = Duration.ofMillis(Long.parseLong(env.getOrDefault(ENV_TIMEOUT_MS, "30000")));
    this.retries = Integer.parseInt(env.getOrDefault(ENV_RETRIES, "2"));
    HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1);
    try {
      // a contained sandbox has no network but the node's egress relay, which reaches this provider only
      aimos.model.sandbox.EgressForwarder.proxy(env).ifPresent(client::proxy);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("the egress forwarder did not start", e);
    }
    this.http = client.build();
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply) {
    run(request, reply, null);
  }

  @Override
  public void run(SandboxRequest request, SandboxReply.Builder reply, Consumer<String> chunks) {
    if (!request.hasText()) {
      throw new InvalidInputException("runtime " + name + " takes text input");
    }
    String prompt = request.getText().getPrompt();
    if (prompt.isBlank()) {
      throw new InvalidInputException("prompt is empty");
    }
    ObjectNode body = JSON.createObjectNode().put("model", model);
    body.putArray("messages").addObject().put("role", "user").put("content", prompt);
    if (request.getText().getMaxTokens() > 0) {
      body.put("max_tokens", request.getText().getMaxTokens());
    }
    boolean stream = chunks != null;
    if (stream) {
      body.put("stream", true);
      body.putObject("stream_options").put("include_usage", true);
    }
    StringBuilder text = new StringBuilder();
    long[] usage = {-1, -1};
    call(body.toString(), stream, response -> {
      if (!stream) {
        JsonNode json = parse(response.body().reduce("", (a, b) -> a + b));
        text.append(json.path("choices").path(0).path("message").path("content").asText(""));
        readUsage(json, usage);
        return;
      }
      response.body().filter(l -> l.startsWith("data:")).map(l -> l.substring(5).strip())
          .takeWhile(d -> !d.equals("[DONE]")).forEach(d -> {
            JsonNode chunk = parse(d);
            String piece = chunk.path("choices").path(0).path("delta").path("content").asText("");
            if (!piece.isEmpty()) {
              text.append(piece);
              chunks.accept(piece);
            }
            readUsage(chunk, usage);
          });
    });
    reply.setText(TextResult.newBuilder().setCompletion(text.toString())
        .setPromptTokens(usage[0] >= 0 ? usage[0] : encoding.countTokens(prompt))
        .setCompletionTokens(usage[1] >= 0 ? usage[1] : encoding.countTokens(text.toString())));
  }

  private static void readUsage(JsonNode json, long[] usage) {
    JsonNode u = json.path("usage");
    if (u.has("prompt_tokens")) {
      usage[0] = u.get("prompt_tokens").asLong();
      usage[1] = u.path("completion_tokens").asLong(0);
    }
  }

  private static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new ModelFailedException("the upstream server answered with something that is not JSON");
    }
  }

  /** Posts to {@code /chat/completions}, retrying what the server may get right next time. */
  private void call(String body, boolean stream, Consumer<HttpResponse<Stream<String>>> onSuccess) {
    String last = "";
    for (int attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        sleep(Math.min(5_000, 200L << attempt));
      }
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
          .timeout(timeout)
          .header("Content-Type", "application/json")
          .header("Accept", stream ? "text/event-stream" : "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body));
      if (!apiKey.isEmpty()) {
        req.header("Authorization", "Bearer " + apiKey);
      }
      HttpResponse<Stream<String>> response;
      try {
        response = http.send(req.build(), HttpResponse.BodyHandlers.ofLines());
      } catch (java.net.http.HttpTimeoutException e) {
        last = "no answer within " + timeout.toMillis() + " ms";
        continue;
      } catch (IOException e) {
        last = "cannot reach it (" + e.getClass().getSimpleName() + ")";
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted");
      }
      int status = response.statusCode();
      if (status == 200) {
        onSuccess.accept(response);
        return;
      }
      String message = errorMessage(response);
      if (status == 400 || status == 404 || status == 422) {
        throw new InvalidInputException("the upstream server refused the request (HTTP " + status + "): " + message);
      }
      if (status == 401 || status == 403) {
        System.err.println("the upstream server refused the credentials of provider " + providerOf(name) + " (HTTP "
            + status + "): fix aimos.upstream.providers." + providerOf(name) + ".api-key");
        throw new ModelFailedException("the upstream server refused the platform's credentials (HTTP " + status
            + "); an operator must fix them");
      }
      System.err.println("the upstream server of " + name + " answered HTTP " + status + ": " + message);
      last = "HTTP " + status;
    }
    // the upstream's own error text stays in the sandbox log
    throw new ModelFailedException("the upstream server failed " + (retries + 1) + " times; last: " + last);
  }

  private static String errorMessage(HttpResponse<Stream<String>> response) {
    String body = response.body().limit(50).reduce("", (a, b) -> a + b);
    try {
      JsonNode error = JSON.readTree(body).path("error");
      String message = error.isTextual() ? error.asText() : error.path("message").asText("");
      return message.isEmpty() ? "(no message)" : message.substring(0, Math.min(300, message.length()));
    } catch (IOException e) {
      return "(no JSON error)";
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }
}
