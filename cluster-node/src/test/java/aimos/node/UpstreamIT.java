package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferStreamResponse;
import aimos.api.v1.TextInput;
import aimos.billing.ledger.LedgerRow;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Models served by an OpenAI-compatible upstream server, here a local fake that speaks the chat completions API (a
 * real one cannot be reached from this machine): the platform's key goes to the upstream and nowhere else, failures
 * of the server are retried, a slow upstream falls back to another model, the caller's bad input is the caller's.
 */
class UpstreamIT {
  private static final String KEY = "sk-test-upstream-4711";
  private static HttpServer fake;
  private static final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private static TestCluster cluster;
  private static String apiKey;
  /** How long the slow-tail upstream pauses after its first piece (or before a whole answer). */
  private static final long TAIL_MILLIS = 1_500;

  @BeforeAll
  static void start() throws Exception {
    fake = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    fake.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    fake.createContext("/v1/chat/completions", UpstreamIT::chatCompletions);
    fake.start();
    String base = "http://127.0.0.1:" + fake.getAddress().getPort() + "/v1";
    cluster = TestCluster.start(1, """
        aimos.upstream.providers {
          fake { base-url = "%s", api-key = "%s", timeout = 1s, retries = 2 }
          wrong-key { base-url = "%s", api-key = "sk-not-the-right-one", timeout = 1s, retries = 0 }
          patient { base-url = "%s", api-key = "%s", timeout = 10s, retries = 0 }
        }
        """.formatted(base, KEY, base, base, KEY));
    Http.model(cluster, "up-slow-tail", "openai:patient/slow-tail", "TOKENS", 1);
    for (String m : List.of("good", "flaky", "bad")) {
      Http.model(cluster, "up-" + m, "openai:fake/" + m, "TOKENS", 1);
    }
    Http.model(cluster, "up-echo", "echo-text", "TOKENS", 1);
    Http.model(cluster, "up-wrong-key", "openai:wrong-key/good", "TOKENS", 1);
    assertEquals(201, Http.admin(cluster, "POST", "/admin/models", "{\"name\": \"up-slow\"}").status());
    var slow = Http.admin(cluster, "POST", "/admin/models/up-slow/versions", """
        {"version": "v1", "runtime": "openai:fake/slow", "billingUnit": "TOKENS", "fallback": "up-echo"}""");
    assertEquals(201, slow.status(), slow.body());
    apiKey = Http.tenantWithKey(cluster, "upstream-co", 1000, 16);
    // six sandboxes start at once: a call before its model's has joined waits only the lease queue timeout
    for (String m : List.of("good", "flaky", "bad", "echo", "wrong-key", "slow", "slow-tail")) {
      cluster.awaitWorkerReady("up-" + m, "v1");
    }
  }

  @AfterAll
  static void stop() {
    cluster.close();
    fake.stop(0);
  }

  /** The fake upstream: answers by the requested model's name, and only to the platform's key. */
  private static void chatCompletions(HttpExchange ex) throws IOException {
    String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
    String model = json.path("model").asText();
    int n = calls.computeIfAbsent(model, m -> new AtomicInteger()).incrementAndGet();
    if (!("Bearer " + KEY).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
      send(ex, 401, "application/json", "{\"error\": {\"message\": \"Incorrect API key provided\"}}");
      return;
    }
    switch (model) {
      case "flaky" -> {
        if (n <= 2) {
          send(ex, 503, "application/json", "{\"error\": {\"message\": \"overloaded, try again\"}}");
          return;
        }
      }
      case "slow" -> pause(3_000);
      case "slow-tail" -> {
        // the first piece at once, the rest after a long pause: a stream's latency ends at its first piece
        if (json.path("stream").asBoolean(false)) {
          ex.getResponseHeaders().set("Content-Type", "text/event-stream");
          ex.sendResponseHeaders(200, 0);
          var out = ex.getResponseBody();
          out.write("data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"first\"}}]}\n\n"
              .getBytes(StandardCharsets.UTF_8));
          out.flush();
          pause(TAIL_MILLIS);
          out.write(("data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \" and the rest\"}}]}\n\n"
              + "data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 11, \"completion_tokens\": 4}}\n\n"
              + "data: [DONE]\n\n").getBytes(StandardCharsets.UTF_8));
          ex.close();
          return;
        }
        pause(TAIL_MILLIS);
      }
      case "bad" -> {
        send(ex, 400, "application/json", "{\"error\": {\"message\": \"max_tokens is too large for this model\"}}");
        return;
      }
      default -> { }
    }
    if (json.path("stream").asBoolean(false)) {
      StringBuilder sse = new StringBuilder();
      for (String piece : List.of("upstream", " says", " hello")) {
        sse.append("data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"").append(piece)
            .append("\"}}]}\n\n");
      }
      sse.append("data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 11, \"completion_tokens\": 4}}\n\n");
      sse.append("data: [DONE]\n\n");
      send(ex, 200, "text/event-stream", sse.toString());
      return;
    }
    send(ex, 200, "application/json", """
        {"id": "chatcmpl-1", "object": "chat.completion", "model": "%s", "choices": [{"index": 0,
         "message": {"role": "assistant", "content": "upstream says hello"}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}}""".formatted(model));
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void send(HttpExchange ex, int status, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
    ex.close();
  }

  private static InferResponse infer(String model, String id) {
    return TestCluster.infer(cluster.client(0), apiKey, model, id, "say hello to the platform");
  }

  private static StatusRuntimeException fails(Status.Code code, String model, String id) {
    return InferenceIT.failsWith(code, () -> infer(model, id));
  }

  @Test
  void answersWithTheUpstreamsTextAndBillsItsReportedUsage() {
    InferResponse r = infer("up-good", "u-1");
    assertEquals("upstream says hello", r.getText().getCompletion());
    assertEquals(11, r.getUsage().getPromptTokens());
    assertEquals(4, r.getUsage().getCompletionTokens());

    List<InferStreamResponse> events = cluster.client(0).inferStream()
        .addHeader("authorization", "Bearer " + apiKey)
        .invoke(InferRequest.newBuilder().setModel("up-good").setRequestId("u-2")
            .setText(TextInput.newBuilder().setPrompt("stream it")).build())
        .runWith(Sink.seq(), cluster.nodes.get(0).system()).toCompletableFuture().join();
    assertEquals(List.of("upstream", " says", " hello"), events.stream().filter(InferStreamResponse::hasDelta)
        .map(e -> e.getDelta().getText()).toList());
    assertEquals(4, events.get(events.size() - 1).getDone().getUsage().getCompletionTokens());

    // both requests are measured at the gateway: the upstream's time, its tokens, the lease wait and the stream's
    // first piece
    String metrics = Http.call("GET", cluster.managementPort(0), "/metrics", null, null).body();
    assertTrue(sample(metrics, "aimos_upstream_request_duration_seconds_count{provider=\"fake\",}") >= 2, metrics);
    assertTrue(sample(metrics, "aimos_prompt_tokens_total{model=\"up-good\",}") >= 11, metrics);
    assertTrue(sample(metrics, "aimos_completion_tokens_total{model=\"up-good\",}") >= 8, metrics);
    assertTrue(sample(metrics, "aimos_lease_wait_seconds_count{model=\"up-good\",}") >= 2, metrics);
    assertTrue(sample(metrics, "aimos_time_to_first_token_seconds_count{model=\"up-good\",}") >= 1, metrics);
  }

  /** The value of a sample (name and labels as exported) in a Prometheus text scrape; 0 when absent. */
  private static double sample(String metrics, String sample) {
    return metrics.lines().filter(l -> l.startsWith(sample + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(0);
  }

  @Test
  void aStreamsLatencyForItsSlaEndsAtItsFirstPiece() {
    List<InferStreamResponse> events = cluster.client(0).inferStream()
        .addHeader("authorization", "Bearer " + apiKey)
        .invoke(InferRequest.newBuilder().setModel("up-slow-tail").setRequestId("tail-streamed")
            .setText(TextInput.newBuilder().setPrompt("stream it")).build())
        .runWith(Sink.seq(), cluster.nodes.get(0).system()).toCompletableFuture().join();
    assertEquals("first and the rest", events.get(events.size() - 1).getDone().getText().getCompletion());
    // the same model answered whole takes the pause before its answer
    assertEquals("upstream says hello", infer("up-slow-tail", "tail-whole").getText().getCompletion());
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      var sla = Http.admin(cluster, "GET", "/admin/tenants/upstream-co/sla?month=" + month, null).json();
      java.util.Map<String, Double> over = new java.util.HashMap<>();
      for (int i = 0; i < sla.get("overRequestIds").size(); i++) {
        over.put(sla.get("overRequestIds").get(i).asText(), sla.get("overLatencyMs").get(i).asDouble());
      }
      assertTrue(over.getOrDefault("tail-whole", 0.0) >= TAIL_MILLIS, sla.toString());
      assertTrue(over.getOrDefault("tail-streamed", 0.0) < TAIL_MILLIS, "measured to the first piece: " + sla);
      return null;
    });
  }

  @Test
  void retriesTheUpstreamsOwnFailures() {
    InferResponse r = infer("up-flaky", "u-3");
    assertEquals("upstream says hello", r.getText().getCompletion());
    assertEquals(3, calls.get("flaky").get(), "two 503s, then the answer");
  }

  @Test
  void aSlowUpstreamFallsBackToAnotherModelAndIsBilledThere() {
    InferResponse r = infer("up-slow", "u-4");
    assertEquals("up-echo", r.getModel(), "the fallback answered");
    assertEquals("platform the to hello say", r.getText().getCompletion());
    assertEquals(3, calls.get("slow").get(), "three attempts of 1 s each timed out");
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      List<LedgerRow> rows = cluster.ledgerRows("upstream-co", month)
          .stream().filter(row -> row.requestId().equals("u-4")).toList();
      assertEquals(1, rows.size());
      assertEquals("up-echo", rows.get(0).model());
      return null;
    });
    String metrics = Http.call("GET", cluster.managementPort(0), "/metrics", null, null).body();
    assertTrue(metrics.contains("aimos_fallbacks_total{model=\"up-slow\",fallback=\"up-echo\",} 1.0"), metrics.lines()
        .filter(l -> l.contains("fallback")).collect(Collectors.joining("\n")));
    // the slow upstream's failures are the upstream's errors, by provider
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("aimos_upstream_errors_total{provider=\"fake\",kind=\"")
        && !l.contains("invalid_input") && !l.endsWith(" 0.0")), metrics.lines()
        .filter(l -> l.contains("upstream")).collect(Collectors.joining("\n")));
  }

  @Test
  void theCallersBadInputIsTheCallersAndTheKeyStaysSecret() throws Exception {
    var bad = fails(Status.Code.INVALID_ARGUMENT, "up-bad", "u-5");
    assertTrue(bad.getStatus().getDescription().contains("max_tokens is too large"), bad.getStatus().toString());

    var refused = fails(Status.Code.INTERNAL, "up-wrong-key", "u-6");
    assertTrue(refused.getStatus().getDescription().contains("credentials"), refused.getStatus().toString());
    assertFalse(refused.getStatus().getDescription().contains("sk-not-the-right-one"));

    // the key reaches the sandbox in its environment, not on its command line
    var sandboxes = Http.admin(cluster, "GET", "/admin/sandboxes", null).json();
    boolean checked = false;
    for (var s : sandboxes) {
      if (s.get("model").asText().equals("up-good")) {
        String cmdline = Files.readString(Path.of("/proc", s.get("pid").asText(), "cmdline"));
        assertFalse(cmdline.contains(KEY), "the upstream key is on a command line");
        checked = true;
      }
    }
    assertTrue(checked, sandboxes.toString());

    var unknown = Http.admin(cluster, "POST", "/admin/models/up-echo/versions",
        "{\"version\": \"v9\", \"runtime\": \"openai:nobody/gpt\", \"billingUnit\": \"TOKENS\"}");
    assertEquals(400, unknown.status(), unknown.body());
    assertTrue(unknown.body().contains("not configured"), unknown.body());
    assertTrue(cluster.ledgerRows("upstream-co", YearMonth.now(ZoneOffset.UTC).toString()).stream()
        .noneMatch(r -> r.requestId().equals("u-5")
            || r.requestId().equals("u-6")));
  }
}
