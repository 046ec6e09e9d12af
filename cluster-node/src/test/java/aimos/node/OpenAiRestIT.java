package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.billing.ledger.LedgerRow;
import aimos.tenant.Money;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** OpenAI's REST API on the gateway port, over real HTTP: same keys, quotas, idempotency and ledger as gRPC. */
class OpenAiRestIT {
  private static final Encoding CL100K = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestCluster cluster;
  private static String key;
  private static String slowKey;
  private static String lmKey;
  private static String sdkKey;
  private static String embedKey;

  record Reply(int status, JsonNode json, HttpResponse<String> raw) {}

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1);
    Http.textModel(cluster, "oa-text");
    Http.model(cluster, "oa-lm", "trigram-lm", "TOKENS", 1);
    Http.model(cluster, "oa-embed", "minilm-embeddings", "TOKENS", 1);
    for (String model : List.of("oa-text", "oa-lm", "oa-embed")) {
      cluster.awaitWorkerReady(model, "v1");
    }
    key = Http.tenantWithKey(cluster, "openai-co", 1000, 16);
    slowKey = Http.tenantWithKey(cluster, "openai-slow", 1, 16);
    lmKey = Http.tenantWithKey(cluster, "openai-lm", 1000, 16);
    sdkKey = Http.tenantWithKey(cluster, "openai-sdk", 1000, 16);
    embedKey = Http.tenantWithKey(cluster, "openai-embed", 1000, 16);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  /** A POST whose answer, whatever its status, must match the OpenAPI document (openapi/aimos.yaml). */
  static Reply post(String path, String apiKey, String idempotencyKey, String body) {
    Reply r = post(cluster, path, apiKey, idempotencyKey, body);
    OpenApiContract.check("POST", path, r.raw());
    return r;
  }

  static Reply post(TestCluster cluster, String path, String apiKey, String idempotencyKey, String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cluster.nodes.get(0).gatewayPort()
        + path)).POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
    if (apiKey != null) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    if (idempotencyKey != null) {
      b.header("Idempotency-Key", idempotencyKey);
    }
    try {
      HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), JSON.readTree(r.body()), r);
    } catch (Exception e) {
      throw new AssertionError(path + ": " + e, e);
    }
  }

  private static String reversed(String prompt) {
    List<String> words = new java.util.ArrayList<>(List.of(prompt.strip().split("\\s+")));
    java.util.Collections.reverse(words);
    return String.join(" ", words);
  }

  @Test
  void completionsAndChatAnswerInOpenAisShapeAndAreBilledOnceByIdempotencyKey() {
    String prompt = "metering every token exactly once";
    Reply c = post("/v1/completions", key, "rest-c-1", """
        {"model": "oa-text", "prompt": "%s", "max_tokens": 64}""".formatted(prompt));
    assertEquals(200, c.status(), c.json().toString());
    assertEquals("text_completion", c.json().get("object").asText());
    assertEquals("cmpl-rest-c-1", c.json().get("id").asText());
    assertEquals("oa-text", c.json().get("model").asText());
    assertEquals(reversed(prompt), c.json().get("choices").get(0).get("text").asText());
    assertEquals("stop", c.json().get("choices").get(0).get("finish_reason").asText());
    JsonNode usage = c.json().get("usage");
    assertEquals(CL100K.countTokens(prompt), usage.get("prompt_tokens").asLong());
    assertEquals(CL100K.countTokens(reversed(prompt)), usage.get("completion_tokens").asLong());
    assertEquals(usage.get("prompt_tokens").asLong() + usage.get("completion_tokens").asLong(),
        usage.get("total_tokens").asLong());
    assertEquals("rest-c-1", c.raw().headers().firstValue("x-request-id").orElseThrow());

    // a retry with the same Idempotency-Key is answered from the first run and not billed again
    Reply again = post("/v1/completions", key, "rest-c-1", """
        {"model": "oa-text", "prompt": "%s", "max_tokens": 64}""".formatted(prompt));
    assertEquals(200, again.status());
    assertTrue(again.json().get("usage").get("replayed").asBoolean());
    assertEquals(c.json().get("choices").get(0).get("text"), again.json().get("choices").get(0).get("text"));

    Reply chat = post("/v1/chat/completions", key, "rest-chat-1", """
        {"model": "oa-text", "messages": [{"role": "system", "content": "be brief"},
         {"role": "user", "content": [{"type": "text", "text": "hello there"}]}], "max_completion_tokens": 64}""");
    assertEquals(200, chat.status(), chat.json().toString());
    assertEquals("chat.completion", chat.json().get("object").asText());
    JsonNode message = chat.json().get("choices").get(0).get("message");
    assertEquals("assistant", message.get("role").asText());
    assertEquals(reversed("be brief\nhello there"), message.get("content").asText());
    assertEquals(CL100K.countTokens("be brief\nhello there"), chat.json().get("usage").get("prompt_tokens").asLong());

    Reply cut = post("/v1/chat/completions", key, "rest-chat-2", """
        {"model": "oa-text", "messages": [{"role": "user", "content": "one two three four five six"}],
         "max_tokens": 2}""");
    assertEquals(200, cut.status(), cut.json().toString());
    assertEquals("length", cut.json().get("choices").get(0).get("finish_reason").asText());
    assertEquals(2, cut.json().get("usage").get("completion_tokens").asLong());

    // the ledger has one row per request id, with the charge the response reported
    Map<String, String> charged = Map.of("rest-c-1", usage.get("charge_usd").asText(),
        "rest-chat-1", chat.json().get("usage").get("charge_usd").asText(),
        "rest-chat-2", cut.json().get("usage").get("charge_usd").asText());
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      List<LedgerRow> rows = cluster.ledgerRows("openai-co", month);
      assertEquals(charged.keySet(), rows.stream().map(LedgerRow::requestId).collect(Collectors.toSet()));
      assertEquals(3, rows.size());
      for (LedgerRow row : rows) {
        assertEquals(charged.get(row.requestId()), Money.format(row.chargeMicros()), row.toString());
      }
      return null;
    });
  }

  @Test
  void aRealLanguageModelAnswersThroughTheSandboxAndIsMeteredInCl100kTokens() {
    Reply r = post("/v1/chat/completions", lmKey, "lm-1", """
        {"model": "oa-lm", "messages": [{"role": "user", "content": "I flew to New York"}], "max_tokens": 24}""");
    assertEquals(200, r.status(), r.json().toString());
    String content = r.json().get("choices").get(0).get("message").get("content").asText();
    assertTrue(content.startsWith("city"), content);
    JsonNode usage = r.json().get("usage");
    assertEquals(CL100K.countTokens("I flew to New York"), usage.get("prompt_tokens").asLong());
    assertEquals(CL100K.countTokens(content), usage.get("completion_tokens").asLong());
    assertTrue(usage.get("completion_tokens").asLong() <= 24 && usage.get("completion_tokens").asLong() >= 20,
        usage.toString());
    assertEquals("length", r.json().get("choices").get(0).get("finish_reason").asText());
  }

  private static double cosine(JsonNode a, JsonNode b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.size(); i++) {
      dot += a.get(i).asDouble() * b.get(i).asDouble();
      na += a.get(i).asDouble() * a.get(i).asDouble();
      nb += b.get(i).asDouble() * b.get(i).asDouble();
    }
    return dot / Math.sqrt(na * nb);
  }

  @Test
  void embeddingsComeFromMiniLmAndAreBilledPerInputToken() {
    List<String> texts = List.of("The cat sits on the mat", "A cat is sitting on a rug",
        "Stock markets fell sharply today");
    Reply r = post("/v1/embeddings", embedKey, "emb-1", "{\"model\": \"oa-embed\", \"input\": "
        + JSON.valueToTree(texts) + "}");
    assertEquals(200, r.status(), r.json().toString());
    assertEquals("list", r.json().get("object").asText());
    JsonNode data = r.json().get("data");
    assertEquals(3, data.size());
    assertEquals(384, data.get(0).get("embedding").size());
    assertEquals(2, data.get(2).get("index").asInt());
    double near = cosine(data.get(0).get("embedding"), data.get(1).get("embedding"));
    double far = cosine(data.get(0).get("embedding"), data.get(2).get("embedding"));
    assertTrue(near > far + 0.4, "near " + near + ", far " + far);
    long tokens = texts.stream().mapToLong(CL100K::countTokens).sum();
    assertEquals(tokens, r.json().get("usage").get("prompt_tokens").asLong());
    assertEquals(tokens, r.json().get("usage").get("total_tokens").asLong());

    // base64: the same vector as little-endian float32
    Reply b64 = post("/v1/embeddings", embedKey, "emb-2", """
        {"model": "oa-embed", "input": "The cat sits on the mat", "encoding_format": "base64"}""");
    assertEquals(200, b64.status(), b64.json().toString());
    java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(
        b64.json().get("data").get(0).get("embedding").asText())).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    assertEquals(384 * 4, bytes.remaining());
    for (int i = 0; i < 384; i++) {
      assertEquals(data.get(0).get("embedding").get(i).floatValue(), bytes.getFloat(), 1e-6);
    }

    // over gRPC: the same model, the same numbers
    var grpc = cluster.client(0).infer().addHeader("authorization", "Bearer " + embedKey).invoke(
        aimos.api.v1.InferRequest.newBuilder().setModel("oa-embed").setRequestId("emb-3")
            .setEmbedding(aimos.api.v1.EmbeddingInput.newBuilder().addInputs("A cat is sitting on a rug")).build())
        .toCompletableFuture().join();
    assertEquals(data.get(1).get("embedding").get(7).floatValue(), grpc.getEmbedding().getData(0).getValues(7), 1e-6);
    assertEquals(CL100K.countTokens("A cat is sitting on a rug"), grpc.getUsage().getPromptTokens());

    expectError(post("/v1/embeddings", embedKey, "emb-bad-1", "{\"model\": \"oa-embed\", \"input\": []}"), 400,
        "invalid_request_error", "input is required");
    expectError(post("/v1/embeddings", embedKey, "emb-bad-2", "{\"model\": \"oa-embed\", \"input\": [[1, 2]]}"),
        400, "invalid_request_error", "token arrays");
    expectError(post("/v1/embeddings", embedKey, "emb-bad-3", "{\"model\": \"oa-embed\", \"input\": [\"ok\", \" \"]}"),
        400, "invalid_request_error", "empty");
    expectError(post("/v1/embeddings", embedKey, "emb-bad-4", "{\"model\": \"oa-text\", \"input\": \"x\"}"), 400,
        "invalid_request_error", "text");
    expectError(post("/v1/chat/completions", embedKey, "emb-bad-5", """
        {"model": "oa-embed", "messages": [{"role": "user", "content": "x"}]}"""), 400, "invalid_request_error",
        "embed");
    expectError(post("/v1/embeddings", embedKey, "emb-bad-6", """
        {"model": "oa-embed", "input": "x", "encoding_format": "int8"}"""), 400, "invalid_request_error",
        "encoding_format");
    expectError(post("/v1/embeddings", embedKey, "emb-bad-7", """
        {"model": "oa-embed", "input": "x", "dimensions": 128}"""), 400, "invalid_request_error", "dimensions");
    var tooMany = new StringBuilder("{\"model\": \"oa-embed\", \"input\": [");
    for (int i = 0; i < 257; i++) {
      tooMany.append(i == 0 ? "" : ", ").append("\"t").append(i).append('"');
    }
    expectError(post("/v1/embeddings", embedKey, "emb-bad-8", tooMany + "]}"), 400, "invalid_request_error",
        "1 to 256");

    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      List<LedgerRow> rows = cluster.ledgerRows("openai-embed", month);
      assertEquals(Set.of("emb-1", "emb-2", "emb-3"), rows.stream().map(LedgerRow::requestId)
          .collect(Collectors.toSet()));
      assertEquals(tokens, rows.stream().filter(row -> row.requestId().equals("emb-1")).findFirst().orElseThrow()
          .units().promptTokens());
      return null;
    });
  }

  /** The official OpenAI Node SDK (pinned by its lock file), unmodified, pointed at the gateway. */
  @Test
  void theOfficialOpenAiSdkWorksUnchanged() throws Exception {
    java.nio.file.Path dir = java.nio.file.Path.of("target", "openai-sdk");
    java.nio.file.Files.createDirectories(dir);
    for (String f : List.of("package.json", "package-lock.json", "check.mjs")) {
      java.nio.file.Files.copy(java.nio.file.Path.of("src", "test", "openai-sdk", f), dir.resolve(f),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    run(dir, Map.of(), "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error");
    String out = run(dir, Map.of("AIMOS_KEY", sdkKey, "AIMOS_MODEL", "oa-lm", "AIMOS_EMBEDDING_MODEL", "oa-embed",
        "AIMOS_BASE_URL", "http://127.0.0.1:" + cluster.nodes.get(0).gatewayPort() + "/v1"), "node", "check.mjs");
    JsonNode r = JSON.readTree(out.lines().reduce((a, b) -> b).orElseThrow());
    assertTrue(r.get("models").toString().contains("oa-lm"), r.toString());
    String chat = r.get("chat").get("content").asText();
    assertTrue(chat.startsWith("city"), chat);
    assertEquals(CL100K.countTokens(chat), r.get("chat").get("usage").get("completion_tokens").asLong());
    assertEquals("length", r.get("chat").get("finish").asText());
    assertEquals(chat, r.get("stream").get("content").asText(), "streamed text = whole text");
    assertTrue(r.get("stream").get("chunks").asInt() > 5, r.toString());
    assertEquals(CL100K.countTokens(chat), r.get("stream").get("usage").get("completion_tokens").asLong());
    assertEquals(3, r.get("embeddings").get("count").asInt(), r.toString());
    assertEquals(384, r.get("embeddings").get("dimensions").asInt(), r.toString());
    assertTrue(r.get("embeddings").get("near").asDouble() > r.get("embeddings").get("far").asDouble() + 0.4,
        r.toString());
    assertEquals(404, r.get("unknownModel").get("status").asInt(), r.toString());
    assertEquals("NotFoundError", r.get("unknownModel").get("type").asText());
    assertEquals(401, r.get("badKey").get("status").asInt(), r.toString());
    assertEquals("AuthenticationError", r.get("badKey").get("type").asText());
  }

  private static String run(java.nio.file.Path dir, Map<String, String> env, String... command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(3, java.util.concurrent.TimeUnit.MINUTES), String.join(" ", command) + " hung");
    assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
    return out;
  }

  @Test
  void badRequestsGetOpenAiErrorsAndBillNothing() {
    String ok = "{\"model\": \"oa-text\", \"prompt\": \"fine\"}";
    expectError(post("/v1/completions", null, "bad-1", ok), 401, "invalid_request_error", "API key");
    expectError(post("/v1/completions", "aimos_openai-co_" + "0".repeat(76), "bad-2", ok), 401,
        "invalid_request_error", "key");
    expectError(post("/v1/completions", key, "bad-3", "{not json"), 400, "invalid_request_error", "not valid JSON");
    expectError(post("/v1/completions", key, "bad-4", "{\"prompt\": \"x\"}"), 400, "invalid_request_error",
        "model is required");
    expectError(post("/v1/completions", key, "bad-5", "{\"model\": \"oa-text\", \"prompt\": \"   \"}"), 400,
        "invalid_request_error", "empty");
    expectError(post("/v1/completions", key, "bad-6", "{\"model\": \"no-such-model\", \"prompt\": \"x\"}"), 404,
        "invalid_request_error", "no-such-model");
    expectError(post("/v1/completions", key, "bad-7", "{\"model\": \"oa-text\", \"prompt\": \"x\", \"max_tokens\": 0}"),
        400, "invalid_request_error", "max_tokens");
    expectError(post("/v1/chat/completions", key, "bad-8", "{\"model\": \"oa-text\"}"), 400,
        "invalid_request_error", "messages is required");
    expectError(post("/v1/chat/completions", key, "bad-9", """
        {"model": "oa-text", "messages": [{"role": "wizard", "content": "x"}]}"""), 400, "invalid_request_error",
        "role");
    expectError(post("/v1/chat/completions", null, "bad-10", """
        {"model": "oa-text", "messages": [{"role": "user", "content": "x"}], "stream": true}"""), 401,
        "invalid_request_error", "API key");
    String huge = "{\"model\": \"oa-text\", \"prompt\": \"" + "a ".repeat(4_500_000) + "\"}";
    expectError(post("/v1/completions", key, "bad-11", huge), 413, "invalid_request_error", "larger than");
    // written whole before the answer is read: the 413 must still reach the client, on a connection still open
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", cluster.nodes.get(0).gatewayPort())) {
      socket.setSoTimeout(60_000);
      Http.Reply whole = Http.postWhole(socket, "/v1/completions", key, huge.getBytes(StandardCharsets.UTF_8));
      assertEquals(413, whole.status(), whole.toString());
      assertTrue(whole.body().contains("larger than"), whole.body());
      Http.Reply next = Http.postWhole(socket, "/v1/completions", null, ok.getBytes(StandardCharsets.UTF_8));
      assertEquals(401, next.status(), next.toString());
    } catch (java.io.IOException e) {
      throw new AssertionError("an oversized body written whole got no answer: " + e, e);
    }
    expectError(post("/v1/chat/completions", key, "bad-12", """
        {"model": "oa-text", "messages": [{"role": "user", "content": "x"}], "n": 2}"""), 400,
        "invalid_request_error", "n must be 1");
    expectError(post("/v1/chat/completions", key, "bad-13", """
        {"model": "oa-text", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}"""),
        400, "invalid_request_error", "text content parts only");
    expectError(post("/v1/completions", key, "bad-14", "{\"model\": \"oa-text\", \"prompt\": 42}"), 400,
        "invalid_request_error", "prompt is required");

    // a tenant over its rate: 429 with Retry-After, as OpenAI clients expect to back off
    assertEquals(200, post("/v1/completions", slowKey, "slow-1", ok).status());
    Reply limited = post("/v1/completions", slowKey, "slow-2", ok);
    expectError(limited, 429, "rate_limit_exceeded", "requests per minute");
    assertTrue(Integer.parseInt(limited.raw().headers().firstValue("Retry-After").orElseThrow()) >= 1);

    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      assertEquals(Set.of("slow-1"), cluster.ledgerRows("openai-slow", month).stream()
          .map(LedgerRow::requestId).collect(Collectors.toSet()));
      return null;
    });
    assertFalse(cluster.ledgerRows("openai-co", month).stream()
        .anyMatch(r -> r.requestId().startsWith("bad-")));
  }

  private static void expectError(Reply r, int status, String type, String messagePart) {
    assertEquals(status, r.status(), r.json().toString());
    JsonNode error = r.json().get("error");
    assertEquals(type, error.get("type").asText(), error.toString());
    assertTrue(error.get("message").asText().contains(messagePart), error.toString());
  }
}
