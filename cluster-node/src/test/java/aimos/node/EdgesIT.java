package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferStreamResponse;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import aimos.node.gateway.GatewayGuard;
import aimos.tenant.TenantEntity;
import com.fasterxml.jackson.databind.JsonNode;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gateway's edges as an attacker or a retrying client meets them: request ids that cannot buy free inference on
 * any route, bounded bodies and compressed messages, no state for what anonymous callers make up, and no bill for an
 * answer nobody waited for.
 */
class EdgesIT {
  private static TestCluster cluster;
  private static InferenceServiceClient client;
  private static String key;
  private static int gatewayPort;
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() throws Exception {
    // pekko-http's own request timeout, short: the gateway must not let it cut a model that takes longer
    cluster = TestCluster.start(1, "pekko.http.server.request-timeout = 4s");
    client = cluster.client(0);
    gatewayPort = cluster.nodes.get(0).gatewayPort();
    Http.textModel(cluster, "edge-text");
    Http.model(cluster, "edge-embed", "minilm-embeddings", "TOKENS", 1);
    key = Http.tenantWithKey(cluster, "edge", 1000, 16);
    cluster.awaitWorkerReady("edge-text", "v1");
    cluster.awaitWorkerReady("edge-embed", "v1");
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static long monthRequests(String tenant) {
    return Http.admin(cluster, "GET", "/admin/tenants/" + tenant, null).json().path("monthRequests").asLong();
  }

  private static InferResponse infer(InferRequest req) {
    return client.infer().addHeader("authorization", "Bearer " + key).invoke(req).toCompletableFuture().join();
  }

  private static InferRequest text(String requestId, String prompt) {
    return InferRequest.newBuilder().setModel("edge-text").setRequestId(requestId)
        .setText(TextInput.newBuilder().setPrompt(prompt)).build();
  }

  static HttpResponse<String> post(String path, String requestId, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + path))
        .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (requestId != null) {
      b.header("Idempotency-Key", requestId);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> r) {
    return new Http.Reply(r.statusCode(), r.body()).json();
  }

  private static final String LONG_PROMPT = "word ".repeat(1500);

  @Test
  void aRequestIdBuysOneAnswerOnGrpcInferAndStream() {
    long before = monthRequests("edge");
    InferResponse first = infer(text("free-1", "one two"));
    assertEquals("two one", first.getText().getCompletion());
    assertFalse(first.getReplayed());

    // the same id and input: answered from the recording without running the model, with the output this node
    // kept; nothing billed
    InferResponse again = infer(text("free-1", "one two"));
    assertTrue(again.getReplayed());
    assertEquals(first.getUsage(), again.getUsage());
    assertEquals("two one", again.getText().getCompletion());

    // the same id with a 1,500-word prompt: refused, nothing run or billed
    var reused = InferenceIT.failsWith(Status.Code.ALREADY_EXISTS, () -> infer(text("free-1", LONG_PROMPT)));
    assertTrue(reused.getStatus().getDescription().contains("free-1"), reused.getStatus().getDescription());
    var streamed = InferenceIT.failsWith(Status.Code.ALREADY_EXISTS, () -> client.inferStream()
        .addHeader("authorization", "Bearer " + key).invoke(text("free-1", LONG_PROMPT))
        .runWith(Sink.seq(), cluster.nodes.get(0).system()).toCompletableFuture().join());
    assertTrue(streamed.getStatus().getDescription().contains("another input"));
    // the same id by another version of the same model is another input too
    InferenceIT.failsWith(Status.Code.ALREADY_EXISTS, () -> infer(text("free-1", "one two").toBuilder()
        .setVersion("v1").build()));

    // a streamed request: its retry streams no pieces, only the recorded result
    List<InferStreamResponse> stream = client.inferStream().addHeader("authorization", "Bearer " + key)
        .invoke(text("free-2", "three four five")).runWith(Sink.seq(), cluster.nodes.get(0).system())
        .toCompletableFuture().join();
    InferResponse streamedDone = stream.get(stream.size() - 1).getDone();
    assertFalse(streamedDone.getReplayed());
    List<InferStreamResponse> retried = client.inferStream().addHeader("authorization", "Bearer " + key)
        .invoke(text("free-2", "three four five")).runWith(Sink.seq(), cluster.nodes.get(0).system())
        .toCompletableFuture().join();
    assertEquals(1, retried.size());
    assertTrue(retried.get(0).getDone().getReplayed());
    assertEquals(streamedDone.getUsage(), retried.get(0).getDone().getUsage());
    assertEquals(before + 2, monthRequests("edge"));
  }

  @Test
  void aRequestIdBuysOneAnswerOnEveryRestRoute() throws Exception {
    long before = monthRequests("edge");
    record Route(String path, String body, String otherBody) {}
    for (Route route : List.of(
        new Route("/v1/chat/completions", "{\"model\": \"edge-text\", \"messages\": [{\"role\": \"user\", "
            + "\"content\": \"one two\"}]}", "{\"model\": \"edge-text\", \"messages\": [{\"role\": \"user\", "
            + "\"content\": \"" + LONG_PROMPT + "\"}]}"),
        new Route("/v1/completions", "{\"model\": \"edge-text\", \"prompt\": \"one two\"}",
            "{\"model\": \"edge-text\", \"prompt\": \"" + LONG_PROMPT + "\"}"),
        new Route("/v1/embeddings", "{\"model\": \"edge-embed\", \"input\": \"one two\"}",
            "{\"model\": \"edge-embed\", \"input\": [\"" + LONG_PROMPT + "\", \"more\"]}"),
        new Route("/v2/models/edge-text/infer", "{\"inputs\": [{\"name\": \"text_input\", \"shape\": [1], "
            + "\"datatype\": \"BYTES\", \"data\": [\"one two\"]}]}", "{\"inputs\": [{\"name\": \"text_input\", "
            + "\"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"" + LONG_PROMPT + "\"]}]}"))) {
      String id = "rest-" + route.path().replaceAll("[^a-z0-9]", "");
      boolean oip = route.path().startsWith("/v2/");
      String body = oip ? route.body().replace("{\"inputs\"", "{\"id\": \"" + id + "\", \"inputs\"") : route.body();
      String other = oip ? route.otherBody().replace("{\"inputs\"", "{\"id\": \"" + id + "\", \"inputs\"")
          : route.otherBody();
      var first = post(route.path(), oip ? null : id, body);
      assertEquals(200, first.statusCode(), route.path() + ": " + first.body());
      var again = post(route.path(), oip ? null : id, body);
      assertEquals(200, again.statusCode(), route.path() + ": " + again.body());
      JsonNode usage = oip ? json(again).path("parameters") : json(again).path("usage");
      assertTrue(usage.path("replayed").asBoolean(), route.path() + ": " + again.body());
      var reused = post(route.path(), oip ? null : id, other);
      assertEquals(409, reused.statusCode(), route.path() + ": " + reused.body());
      if (!oip) {
        assertEquals("idempotency_key_reused", json(reused).path("error").path("code").asText(), reused.body());
      }
    }
    assertEquals(before + 4, monthRequests("edge"));
  }

  @Test
  void compressedMessagesAreInflatedOnlyUpToTheLimitAndLargeBodiesReadOnlyWithAValidKey() throws Exception {
    // 32 MiB of prompt in a 32 KiB gzip frame: never inflated past the limit, whoever sends it
    byte[] message = text("bomb", "a".repeat(32 * 1024 * 1024)).toByteArray();
    ByteArrayOutputStream zipped = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(zipped)) {
      z.write(message);
    }
    byte[] payload = zipped.toByteArray();
    assertTrue(payload.length < GatewayGuard.ANONYMOUS_BYTES);
    ByteBuffer frame = ByteBuffer.allocate(5 + payload.length).put((byte) 1).putInt(payload.length).put(payload);
    var reply = Grpc.call(cluster.nodes.get(0).system(), gatewayPort, "/aimos.v1.InferenceService/Infer",
        frame.array(), List.<String[]>of(new String[] {"grpc-encoding", "gzip"},
            new String[] {"authorization", "Bearer " + key}));
    assertEquals("8", reply.grpcStatus(), reply.toString());
    assertTrue(reply.grpcMessage().contains("inflates to more than"), reply.toString());

    // a body above the anonymous allowance without a valid key is not parsed or kept
    byte[] big = text("big", "b".repeat(200_000)).toByteArray();
    ByteBuffer plain = ByteBuffer.allocate(5 + big.length).put((byte) 0).putInt(big.length).put(big);
    var anonymous = Grpc.call(cluster.nodes.get(0).system(), gatewayPort, "/aimos.v1.InferenceService/Infer",
        plain.array(), List.<String[]>of());
    assertEquals("16", anonymous.grpcStatus(), anonymous.toString());
    var rest = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/v1/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"" + "c".repeat(200_000) + "\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(401, rest.statusCode(), rest.body());
    assertEquals("invalid_api_key", json(rest).path("error").path("code").asText());
    // with a key, the same large request is served
    assertTrue(infer(text("big-ok", "b ".repeat(45_000))).getUsage().getPromptTokens() > 0);
  }

  @Test
  void aLargeBodyWithoutAValidKeyIsAnsweredWith401OnAConnectionThatStaysUsable() throws Exception {
    // the refusal must reach a client still sending: answering and closing mid-body resets the connection
    byte[] body = ("{\"model\": \"demo-text\", \"prompt\": \"" + "d".repeat(300_000) + "\"}")
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    try (var socket = new java.net.Socket("127.0.0.1", gatewayPort)) {
      socket.setSoTimeout(30_000);
      var out = socket.getOutputStream();
      var in = new java.io.BufferedInputStream(socket.getInputStream());
      out.write(("POST /v1/completions HTTP/1.1\r\nHost: aimos\r\nContent-Type: application/json\r\n"
          + "Authorization: Bearer aimos_edge_" + "0".repeat(64) + "\r\nContent-Length: " + body.length
          + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      RawResponse refused = RawResponse.read(in);
      assertEquals(401, refused.status(), refused.toString());
      assertTrue(refused.body().contains("invalid_api_key"), refused.toString());
      assertFalse(refused.headers().contains("connection: close"), refused.toString());
      // the same connection serves the next request
      out.write(("GET /v1/models HTTP/1.1\r\nHost: aimos\r\nAuthorization: Bearer " + key + "\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      RawResponse models = RawResponse.read(in);
      assertEquals(200, models.status(), models.toString());
    }

    // a body declared larger than what is ever discarded is not read: the answer comes before any of it is sent
    try (var socket = new java.net.Socket("127.0.0.1", gatewayPort)) {
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: aimos\r\n"
          + "Content-Type: application/json\r\nContent-Length: " + (GatewayGuard.DISCARDED_BYTES + 1)
          + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      RawResponse refused = RawResponse.read(new java.io.BufferedInputStream(socket.getInputStream()));
      assertEquals(401, refused.status(), refused.toString());
      assertTrue(refused.headers().contains("connection: close"), refused.toString());
    }

    // a client that waits for 100 Continue is not asked for its body: the 401 is the first answer it gets
    try (var socket = new java.net.Socket("127.0.0.1", gatewayPort)) {
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: aimos\r\n"
          + "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " + body.length
          + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      RawResponse refused = RawResponse.read(new java.io.BufferedInputStream(socket.getInputStream()));
      assertEquals(401, refused.status(), refused.toString());
    }
  }

  /** An HTTP/1.1 answer read off a raw socket: its status, its header block in lower case, its body. */
  private record RawResponse(int status, String headers, String body) {
    static RawResponse read(java.io.InputStream in) throws java.io.IOException {
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int c = in.read();
        if (c < 0) {
          throw new java.io.EOFException("the connection closed after " + head.length() + " bytes: " + head);
        }
        head.append((char) c);
      }
      String headers = head.toString().toLowerCase(java.util.Locale.ROOT);
      var length = java.util.regex.Pattern.compile("content-length: *(\\d+)").matcher(headers);
      byte[] body = length.find() ? in.readNBytes(Integer.parseInt(length.group(1))) : new byte[0];
      return new RawResponse(Integer.parseInt(headers.substring(9, 12)), headers,
          new String(body, java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  @Test
  void madeUpModelsAndTenantsLeaveNoMetricSeriesAndNoEntities() throws Exception {
    ActorSystem<?> system = cluster.nodes.get(0).system();
    var metrics0 = Http.call("GET", cluster.managementPort(0), "/metrics", null, null).body();
    for (int i = 0; i < 100; i++) {
      String model = "made-up-\u0000\u202e-" + i;
      InferenceIT.failsWith(Status.Code.UNAUTHENTICATED, () -> client.infer()
          .addHeader("authorization", "Bearer aimos_nobody" + Math.abs(model.hashCode()) + "_" + "0".repeat(64))
          .invoke(InferRequest.newBuilder().setModel("made-up-model-" + model.hashCode()).setRequestId("x")
              .setText(TextInput.newBuilder().setPrompt("hi")).build()).toCompletableFuture().join());
      InferenceIT.failsWith(Status.Code.NOT_FOUND, () -> infer(InferRequest.newBuilder()
          .setModel("unregistered-" + Math.abs(model.hashCode())).setRequestId("nf-" + model.hashCode())
          .setText(TextInput.newBuilder().setPrompt("hi")).build()));
    }
    var metrics1 = Http.call("GET", cluster.managementPort(0), "/metrics", null, null).body();
    assertFalse(metrics1.contains("made-up"), "no series for made-up names");
    assertFalse(metrics1.contains("unregistered-"), "no series for unregistered models");
    assertTrue(metrics1.contains("model=\"unregistered\""), "unregistered models counted under one value");
    assertTrue(metrics1.length() < metrics0.length() + 4_000,
        "metrics grew from " + metrics0.length() + " to " + metrics1.length() + " bytes");

    // neither the made-up tenants nor the unregistered models have entities
    for (var type : List.of(TenantEntity.ENTITY_KEY.name(), "Model")) {
      Set<String> ids = entityIds(system, type);
      assertTrue(ids.stream().noneMatch(id -> id.startsWith("nobody") || id.startsWith("unregistered-")),
          type + " entities: " + ids);
    }
  }

  private static Set<String> entityIds(ActorSystem<?> system, String typeName) throws Exception {
    var key = typeName.equals("Model") ? aimos.model.ModelEntity.ENTITY_KEY : TenantEntity.ENTITY_KEY;
    ShardRegion.CurrentShardRegionState state = AskPattern.<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery,
            ShardRegion.CurrentShardRegionState>ask(ClusterSharding.get(system).shardState(),
            rt -> new GetShardRegionState(key, rt), Duration.ofSeconds(5), system.scheduler())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    Set<String> ids = new java.util.HashSet<>();
    state.getShards().forEach(s -> ids.addAll(s.getEntityIds()));
    return ids;
  }

  @Test
  void anAnswerAfterTheCallersDeadlineIsNotBilled() {
    String tenant = "edge-deadline";
    String deadlineKey = Http.tenantWithKey(cluster, tenant, 1000, 16);
    var armed = Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/edge-text/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"SLOW\", \"count\": 1, \"delayMs\": 1500}");
    assertEquals(202, armed.status(), armed.toString());
    ActorSystem<?> system = cluster.nodes.get(0).system();
    InferenceServiceClient impatient = InferenceServiceClient.create(org.apache.pekko.grpc.GrpcClientSettings
        .connectToServiceAt("127.0.0.1", gatewayPort, system).withTls(false).withDeadline(Duration.ofMillis(500)),
        system);
    InferenceIT.failsWith(Status.Code.DEADLINE_EXCEEDED, () -> impatient.infer()
        .addHeader("authorization", "Bearer " + deadlineKey)
        .invoke(text("late-1", "one two")).toCompletableFuture().join());
    // the model answers a second later and its lease is given back
    TestProbe.create(system).awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(100), () -> {
      var leases = Http.admin(cluster, "GET", "/admin/models/edge-text/leases", null).json();
      assertEquals(0, leases.path("leasesByTenant").path(tenant).asInt(), leases.toString());
      return null;
    });
    // the retry runs and is billed: the late answer was not
    InferResponse retry = client.infer().addHeader("authorization", "Bearer " + deadlineKey)
        .invoke(text("late-1", "one two")).toCompletableFuture().join();
    assertFalse(retry.getReplayed());
    assertEquals(1, monthRequests(tenant));
    impatient.close();
  }

  @Test
  void aRestRequestLongerThanTheHttpServersDefaultTimeoutIsAnsweredAndOneWhoseCallerLeftIsNotBilled()
      throws Exception {
    String tenant = "edge-slow";
    String slowKey = Http.tenantWithKey(cluster, tenant, 1000, 16);
    var armed = Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/edge-text/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"SLOW\", \"count\": 1, \"delayMs\": 5000}");
    assertEquals(202, armed.status(), armed.toString());
    var slow = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/v1/completions"))
        .header("Authorization", "Bearer " + slowKey).header("Content-Type", "application/json")
        .header("Idempotency-Key", "slow-1")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"edge-text\", \"prompt\": \"one two\"}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, slow.statusCode(), slow.body());
    assertEquals("two one", json(slow).path("choices").path(0).path("text").asText());
    assertEquals(1, monthRequests(tenant));

    // a streaming caller that hangs up before the (slow) answer: its stream is cancelled and nothing is billed
    armed = Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/edge-text/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"SLOW\", \"count\": 1, \"delayMs\": 1500}");
    assertEquals(202, armed.status(), armed.toString());
    var stream = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/v1/completions"))
        .header("Authorization", "Bearer " + slowKey).header("Content-Type", "application/json")
        .header("Idempotency-Key", "gone-1")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"edge-text\", \"prompt\": \"one two\", "
            + "\"stream\": true}")).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, stream.statusCode());
    stream.body().close();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(100), () -> {
      var leases = Http.admin(cluster, "GET", "/admin/models/edge-text/leases", null).json();
      assertEquals(0, leases.path("leasesByTenant").path(tenant).asInt(), leases.toString());
      return null;
    });
    // the retry runs (it is no replay) and is billed: the abandoned stream was not (until the gateway has let go of
    // the first attempt, a retry is told 409 idempotency_key_in_use, as a client retrying at once would be)
    String[] retried = new String[1];
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> {
      var retry = postAs(slowKey, "/v1/completions", "{\"model\": \"edge-text\", \"prompt\": \"one two\"}",
          "gone-1");
      assertEquals(200, retry.statusCode(), retry.body());
      retried[0] = retry.body();
      return null;
    });
    assertFalse(new Http.Reply(200, retried[0]).json().path("usage").path("replayed").asBoolean(), retried[0]);
    assertEquals(2, monthRequests(tenant));
  }

  @Test
  void openAiAndOipAnswerWhatTheirClientsDispatchOn() throws Exception {
    // models.retrieve
    var get = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/v1/models/edge-text"))
        .header("Authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, get.statusCode(), get.body());
    assertEquals("model", json(get).path("object").asText());
    assertEquals("edge-text", json(get).path("id").asText());
    var missing = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/v1/models/nope"))
        .header("Authorization", "Bearer " + key).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(404, missing.statusCode());
    assertEquals("model_not_found", json(missing).path("error").path("code").asText());

    // string codes: a passing rate limit and an exhausted budget are told apart
    String limited = Http.tenantWithKey(cluster, "edge-rpm", 1, 4);
    String chat = "{\"model\": \"edge-text\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": "
        + "\"text\", \"text\": \"alpha beta\"}, {\"type\": \"text\", \"text\": \"gamma\"}]}]}";
    var first = postAs(limited, "/v1/chat/completions", chat);
    assertEquals(200, first.statusCode(), first.body());
    // content parts are separate lines, not glued together ("alpha betagamma")
    assertEquals("gamma beta alpha", json(first).path("choices").path(0).path("message").path("content").asText());
    var second = postAs(limited, "/v1/chat/completions", chat);
    assertEquals(429, second.statusCode(), second.body());
    assertEquals("rate_limit_exceeded", json(second).path("error").path("code").asText());
    var budget = Http.admin(cluster, "POST", "/admin/tenants", """
        {"id": "edge-broke", "name": "Broke", "plan": {"requestsPerMinute": 100, "tokensPerMinute": 100000,
         "monthlyBudgetUsd": "0.000001", "maxConcurrentRequests": 4}}""");
    assertEquals(201, budget.status(), budget.toString());
    String brokeKey = Http.admin(cluster, "POST", "/admin/tenants/edge-broke/keys", null).json().get("apiKey").asText();
    assertEquals(200, postAs(brokeKey, "/v1/chat/completions", chat).statusCode());
    var broke = postAs(brokeKey, "/v1/chat/completions", chat);
    assertEquals(429, broke.statusCode(), broke.body());
    assertEquals("insufficient_quota", json(broke).path("error").path("code").asText());
    assertEquals("insufficient_quota", json(broke).path("error").path("type").asText());

    // OIP: server metadata, versioned readiness, names and integers checked
    var server = Http.call("GET", gatewayPort, "/v2", null, null);
    assertEquals(200, server.status(), server.body());
    assertEquals("aimos", server.json().path("name").asText());
    assertTrue(server.json().path("extensions").isArray());
    assertEquals(200, Http.call("GET", gatewayPort, "/v2/models/edge-text/versions/v1/ready", key, null).status());
    assertEquals(404, Http.call("GET", gatewayPort, "/v2/models/edge-text/versions/v9/ready", key, null).status());
    assertEquals(400, Http.call("GET", gatewayPort, "/v2/models/Bad%20Name", key, null).status());
    var overflow = post("/v2/models/edge-text/infer", null, "{\"inputs\": [{\"name\": \"text_input\", \"shape\": [1], "
        + "\"datatype\": \"BYTES\", \"data\": [\"hi\"]}], \"parameters\": {\"max_tokens\": 100000000000000000000}}");
    assertEquals(400, overflow.statusCode(), overflow.body());
    assertTrue(overflow.body().contains("max_tokens"), overflow.body());

    // management: an oversize body is 413, not read whole
    var big = Http.admin(cluster, "POST", "/admin/models", "{\"name\": \"x\", \"description\": \""
        + "d".repeat(100_000) + "\"}");
    assertEquals(413, big.status(), big.toString());
  }

  private static HttpResponse<String> postAs(String apiKey, String path, String body) throws Exception {
    return postAs(apiKey, path, body, java.util.UUID.randomUUID().toString());
  }

  private static HttpResponse<String> postAs(String apiKey, String path, String body, String idempotencyKey)
      throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + path))
        .header("Authorization", "Bearer " + apiKey).header("Content-Type", "application/json")
        .header("Idempotency-Key", idempotencyKey)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aTenantWhoseRequestsMakeAModelFailIsStoppedBeforeItGetsTheModelQuarantinedForAll() {
    Http.textModel(cluster, "edge-fragile");
    cluster.awaitWorkerReady("edge-fragile", "v1");
    String crasher = Http.tenantWithKey(cluster, "edge-crasher", 1000, 16);
    String bystander = Http.tenantWithKey(cluster, "edge-bystander", 1000, 16);
    var armed = Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/edge-fragile/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"GARBAGE\", \"count\": 2}");
    assertEquals(202, armed.status(), armed.toString());
    InferRequest.Builder req = InferRequest.newBuilder().setModel("edge-fragile")
        .setText(TextInput.newBuilder().setPrompt("one two"));
    // each garbage answer gets the sandbox restarted: each failing request goes to a fresh process, so that each is
    // an incident of its own
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    for (int i = 0; i < 2; i++) {
      int restarts = i;
      probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
        var fragile = java.util.stream.StreamSupport.stream(Http.admin(cluster, "GET", "/admin/sandboxes", null)
            .json().spliterator(), false).filter(n -> n.path("model").asText().equals("edge-fragile")).findFirst()
            .orElseThrow();
        assertEquals("READY", fragile.path("state").asText(), fragile.toString());
        assertEquals(restarts, fragile.path("restarts").asInt(), fragile.toString());
        return null;
      });
      String id = "fails-" + i;
      InferenceIT.failsWith(Status.Code.INTERNAL, () -> client.infer()
          .addHeader("authorization", "Bearer " + crasher).invoke(req.setRequestId(id).build())
          .toCompletableFuture().join());
    }
    var stopped = InferenceIT.failsWith(Status.Code.RESOURCE_EXHAUSTED, () -> client.infer()
        .addHeader("authorization", "Bearer " + crasher).invoke(req.setRequestId("fails-2").build())
        .toCompletableFuture().join());
    assertTrue(stopped.getStatus().getDescription().startsWith("model_failures"), stopped.getStatus().toString());
    // the model is not quarantined: another tenant is served (once the sandbox is back), and so is the same tenant
    // on another model
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      assertEquals("two one", client.infer().addHeader("authorization", "Bearer " + bystander)
          .invoke(req.setRequestId("fine-1").build()).toCompletableFuture().join().getText().getCompletion());
      return null;
    });
    assertEquals("two one", client.infer().addHeader("authorization", "Bearer " + crasher)
        .invoke(text("other-model-1", "one two")).toCompletableFuture().join().getText().getCompletion());
  }

  @Test
  void aRetryIsAnsweredWithoutRunningTheModel() {
    Http.textModel(cluster, "edge-replay");
    cluster.awaitWorkerReady("edge-replay", "v1");
    InferRequest req = InferRequest.newBuilder().setModel("edge-replay").setRequestId("run-once")
        .setText(TextInput.newBuilder().setPrompt("one two")).build();
    InferResponse first = infer(req);
    // armed to answer garbage to the next request it runs: the retry is not run, so it does not meet the fault
    var armed = Http.call("POST", cluster.managementPort(0), "/admin/sandboxes/edge-replay/v1/faults",
        TestCluster.SECOPS_TOKEN, "{\"fault\": \"GARBAGE\", \"count\": 1}");
    assertEquals(202, armed.status(), armed.toString());
    InferResponse again = infer(req);
    assertTrue(again.getReplayed());
    assertEquals(first.getUsage(), again.getUsage());
    // the fault is still armed: the next request that runs meets it
    InferenceIT.failsWith(Status.Code.INTERNAL, () -> infer(req.toBuilder().setRequestId("runs").build()));
  }
}
