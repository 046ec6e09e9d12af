package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.GetUsageRequest;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.ListModelsRequest;
import aimos.api.v1.TextInput;
import aimos.billing.ledger.LedgerRow;
import aimos.tenant.Money;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One node, real gRPC, real Cassandra: a mix of good, retried and refused requests ends in the exact ledger. */
class InferenceIT {
  private static final Encoding CL100K = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  private static TestCluster cluster;
  private static InferenceServiceClient client;
  private static String acmeKey;
  private static String tinyKey;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1);
    client = cluster.client(0);
    Http.textModel(cluster, "it-text");
    cluster.awaitWorkerReady("it-text", "v1");
    acmeKey = Http.tenantWithKey(cluster, "acme", 1000, 16);
    tinyKey = Http.tenantWithKey(cluster, "tiny", 1, 16);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static String reversed(String prompt) {
    List<String> words = new java.util.ArrayList<>(List.of(prompt.strip().split("\\s+")));
    java.util.Collections.reverse(words);
    return String.join(" ", words);
  }

  static StatusRuntimeException failsWith(Status.Code code, Supplier<?> call) {
    CompletionException e = assertThrows(CompletionException.class, call::get);
    StatusRuntimeException s = (StatusRuntimeException) e.getCause();
    assertEquals(code, s.getStatus().getCode(), () -> String.valueOf(s.getStatus()));
    return s;
  }

  private static InferResponse send(String key, String requestId, String prompt) {
    return TestCluster.infer(client, key, "it-text", requestId, prompt);
  }

  @Test
  void mixedTrafficEndsWithExactlyOneLedgerRowPerAcknowledgedRequest() {
    Map<String, String> prompts = new LinkedHashMap<>();
    prompts.put("a-1", "hello world");
    prompts.put("a-2", "the quick brown fox jumps over the lazy dog");
    prompts.put("a-3", "Metering every inference exactly once is the whole point.");
    prompts.put("a-4", "tokens, images and audio minutes");
    prompts.put("a-5", "¿Dónde está la biblioteca? 图书馆在哪里？");
    long expectedMicros = 0;
    Map<String, InferResponse> first = new LinkedHashMap<>();
    for (var p : prompts.entrySet()) {
      InferResponse r = send(acmeKey, p.getKey(), p.getValue());
      String completion = reversed(p.getValue());
      assertEquals(completion, r.getText().getCompletion());
      assertEquals(CL100K.countTokens(p.getValue()), r.getUsage().getPromptTokens());
      assertEquals(CL100K.countTokens(completion), r.getUsage().getCompletionTokens());
      assertFalse(r.getReplayed());
      long micros = (r.getUsage().getPromptTokens() + r.getUsage().getCompletionTokens()) * 20;
      assertEquals(Money.format(micros), r.getUsage().getChargeUsd());
      expectedMicros += micros;
      first.put(p.getKey(), r);
    }

    // client retries reuse the request id: answered, not billed again
    for (String retry : List.of("a-2", "a-4", "a-2")) {
      InferResponse r = send(acmeKey, retry, prompts.get(retry));
      assertTrue(r.getReplayed());
      assertEquals(first.get(retry).getUsage(), r.getUsage());
    }

    // refused requests: each precise, none billed
    failsWith(Status.Code.UNAUTHENTICATED, () -> send("aimos_acme_" + "0".repeat(64), "x-1", "hi"));
    failsWith(Status.Code.UNAUTHENTICATED, () -> client.infer().invoke(InferRequest.newBuilder().setModel("it-text")
        .setText(TextInput.newBuilder().setPrompt("hi")).build()).toCompletableFuture().join());
    failsWith(Status.Code.UNAUTHENTICATED, () -> send("not-a-key", "x-2", "hi"));
    var notFound = failsWith(Status.Code.NOT_FOUND, () -> TestCluster.infer(client, acmeKey, "no-such-model", "x-3", "hi"));
    assertTrue(notFound.getStatus().getDescription().contains("no-such-model"));
    var empty = failsWith(Status.Code.INVALID_ARGUMENT, () -> send(acmeKey, "x-4", "   "));
    assertTrue(empty.getStatus().getDescription().contains("prompt is empty"));
    var badId = failsWith(Status.Code.INVALID_ARGUMENT, () -> send(acmeKey, "has space", "hi"));
    assertTrue(badId.getStatus().getDescription().contains("request_id"));
    failsWith(Status.Code.INVALID_ARGUMENT, () -> TestCluster.infer(client, acmeKey, "", "x-5", "hi"));
    failsWith(Status.Code.INVALID_ARGUMENT, () -> client.infer().addHeader("authorization", "Bearer " + acmeKey)
        .invoke(InferRequest.newBuilder().setModel("it-text").setRequestId("x-6").build()).toCompletableFuture().join());

    // a tenant over its requests-per-minute limit
    send(tinyKey, "t-1", "one request a minute");
    var limited = failsWith(Status.Code.RESOURCE_EXHAUSTED, () -> send(tinyKey, "t-2", "one too many"));
    assertTrue(limited.getStatus().getDescription().startsWith("requests_per_minute"), limited.getStatus().toString());

    String month = YearMonth.now(ZoneOffset.UTC).toString();
    long expected = expectedMicros;
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      List<LedgerRow> rows = cluster.ledgerRows("acme", month);
      assertEquals(prompts.keySet(), rows.stream().map(LedgerRow::requestId).collect(Collectors.toSet()));
      assertEquals(5, rows.size());
      assertEquals(expected, rows.stream().mapToLong(LedgerRow::chargeMicros).sum());
      assertEquals(Set.of("t-1"), cluster.ledgerRows("tiny", month)
          .stream().map(LedgerRow::requestId).collect(Collectors.toSet()));
      return null;
    });

    // the caller's own usage over gRPC and any tenant's over the admin API read the same rollups
    var usage = client.getUsage().addHeader("authorization", "Bearer " + acmeKey)
        .invoke(GetUsageRequest.newBuilder().setMonth(month).build()).toCompletableFuture().join();
    assertEquals(5, usage.getRequests());
    assertEquals(Money.format(expected), usage.getChargeUsd());
    assertEquals("it-text", usage.getByModel(0).getModel());
    var adminUsage = Http.admin(cluster, "GET", "/admin/tenants/acme/usage?month=" + month, null);
    assertEquals(200, adminUsage.status());
    assertEquals(expected, adminUsage.json().get("chargeMicros").asLong());
  }

  @Test
  void listsModelsAndRefusesBadUsageQueries() {
    var models = client.listModels().addHeader("authorization", "Bearer " + acmeKey)
        .invoke(ListModelsRequest.getDefaultInstance()).toCompletableFuture().join();
    var m = models.getModelsList().stream().filter(x -> x.getName().equals("it-text")).findFirst().orElseThrow();
    assertEquals("v1", m.getDefaultVersion());
    assertEquals("0.020000", m.getVersions(0).getUnitPriceUsd());
    failsWith(Status.Code.UNAUTHENTICATED, () -> client.listModels().invoke(ListModelsRequest.getDefaultInstance())
        .toCompletableFuture().join());
    var bad = failsWith(Status.Code.INVALID_ARGUMENT, () -> client.getUsage()
        .addHeader("authorization", "Bearer " + acmeKey)
        .invoke(GetUsageRequest.newBuilder().setMonth("November").build()).toCompletableFuture().join());
    assertTrue(bad.getStatus().getDescription().contains("2026-11"));
  }

  @Test
  void adminApiRefusesBadInputPreciselyAndChangesNothing() {
    assertEquals(401, Http.call("GET", cluster.managementPort(0), "/admin/tenants/acme", null, null).status());
    assertEquals(401, Http.call("GET", cluster.managementPort(0), "/admin/tenants/acme", "wrong", null).status());
    var badJson = Http.admin(cluster, "POST", "/admin/tenants", "{not json");
    assertEquals(400, badJson.status());
    assertTrue(badJson.json().get("error").get("message").asText().contains("not valid JSON"));
    var badId = Http.admin(cluster, "POST", "/admin/tenants", """
        {"id": "Bad_Id", "name": "x", "plan": {"requestsPerMinute": 1, "tokensPerMinute": 1,
         "monthlyBudgetUsd": "1", "maxConcurrentRequests": 1}}""");
    assertEquals(400, badId.status());
    assertTrue(badId.body().contains("tenant id must be"), badId.body());
    var badPlan = Http.admin(cluster, "POST", "/admin/tenants", """
        {"id": "planless", "name": "x", "plan": {"requestsPerMinute": 0, "tokensPerMinute": 1,
         "monthlyBudgetUsd": "1", "maxConcurrentRequests": 1}}""");
    assertEquals(400, badPlan.status());
    assertTrue(badPlan.body().contains("requestsPerMinute must be positive"), badPlan.body());
    assertEquals(404, Http.admin(cluster, "GET", "/admin/tenants/planless", null).status());
    var dup = Http.admin(cluster, "POST", "/admin/tenants", """
        {"id": "acme", "name": "again", "plan": {"requestsPerMinute": 1, "tokensPerMinute": 1,
         "monthlyBudgetUsd": "1", "maxConcurrentRequests": 1}}""");
    assertEquals(409, dup.status());
    var badUnit = Http.admin(cluster, "POST", "/admin/models/it-text/versions",
        "{\"version\": \"v2\", \"runtime\": \"echo-text\", \"billingUnit\": \"BYTES\"}");
    assertEquals(400, badUnit.status());
    assertTrue(badUnit.body().contains("TOKENS, IMAGES or AUDIO_MINUTES"));
    var immutable = Http.admin(cluster, "POST", "/admin/models/it-text/versions",
        "{\"version\": \"v1\", \"runtime\": \"echo-text\", \"billingUnit\": \"TOKENS\"}");
    assertEquals(409, immutable.status());
    assertTrue(immutable.body().contains("immutable"));
    assertEquals(404, Http.admin(cluster, "GET", "/admin/models/never-registered", null).status());
    assertEquals(400, Http.admin(cluster, "GET", "/admin/tenants/acme/usage?month=13-2026", null).status());
  }

  @Test
  void revokedKeysStopWorkingAtOnce() {
    String key = Http.tenantWithKey(cluster, "revoker", 100, 4);
    send(key, "rv-1", "still valid");
    var tenant = Http.admin(cluster, "GET", "/admin/tenants/revoker", null).json();
    String keyId = tenant.get("keys").get(0).get("keyId").asText();
    assertEquals(200, Http.admin(cluster, "DELETE", "/admin/tenants/revoker/keys/" + keyId, null).status());
    failsWith(Status.Code.UNAUTHENTICATED, () -> send(key, "rv-2", "revoked now"));
    assertEquals(404, Http.admin(cluster, "DELETE", "/admin/tenants/revoker/keys/key-000000000000", null).status());
  }

  /** What grpcurl does first: list the services through server reflection (a raw gRPC call, no generated stub). */
  @Test
  void serverReflectionListsTheInferenceService() throws Exception {
    String text = reflectedServices(cluster.nodes.get(0).gatewayPort());
    assertTrue(text.contains("aimos.v1.InferenceService"), text);
    assertTrue(text.contains("aimos.v1.BillingService"), text);
    assertTrue(text.contains("grpc.health.v1.Health"), text);
    // only services the gateway serves: the echo baseline is the load tool's own server, not the node's
    assertFalse(text.contains("EchoService"), text);
  }

  /** The standard gRPC health service, as grpc_health_probe and Kubernetes' gRPC probes call it. */
  @Test
  void grpcHealthCheckSaysServingOnAReadyNode() {
    var system = cluster.nodes.get(0).system();
    var health = aimos.grpc.health.v1.HealthClient.create(org.apache.pekko.grpc.GrpcClientSettings
        .connectToServiceAt("127.0.0.1", cluster.nodes.get(0).gatewayPort(), system).withTls(false), system);
    try {
      for (String service : List.of("", "aimos.v1.InferenceService", "aimos.v1.BillingService")) {
        var reply = health.check(aimos.grpc.health.v1.HealthCheckRequest.newBuilder().setService(service).build())
            .toCompletableFuture().join();
        assertEquals(aimos.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING, reply.getStatus(), service);
      }
      failsWith(Status.Code.NOT_FOUND, () -> health.check(aimos.grpc.health.v1.HealthCheckRequest.newBuilder()
          .setService("aimos.v1.EchoService").build()).toCompletableFuture().join());
      var first = health.watch(aimos.grpc.health.v1.HealthCheckRequest.getDefaultInstance())
          .runWith(org.apache.pekko.stream.javadsl.Sink.head(), system).toCompletableFuture().join();
      assertEquals(aimos.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING, first.getStatus());
    } finally {
      health.close();
    }
  }

  /** The contract is served on both ports without a key or token, and it is the committed document. */
  @Test
  void servesTheOpenApiDocumentOnBothPorts() {
    for (int port : List.of(cluster.nodes.get(0).gatewayPort(), cluster.managementPort(0))) {
      var doc = OpenApiContract.check("GET", "/openapi.json", Http.call("GET", port, "/openapi.json", null, null));
      assertEquals(200, doc.status());
      assertEquals(OpenApiContract.get().document(), doc.json());
      assertEquals("3.1.0", doc.json().get("openapi").asText());
    }
  }

  /** Real answers of the gateway's OpenAI-compatible and Open Inference Protocol routes match the document. */
  @Test
  void gatewayAnswersMatchTheOpenApiDocument() {
    int port = cluster.nodes.get(0).gatewayPort();
    // a tenant of its own: the other tests count acme's ledger rows
    String contractKey = Http.tenantWithKey(cluster, "oip-contract", 1000, 4);
    OpenApiContract.check("GET", "/v1/models", Http.call("GET", port, "/v1/models", contractKey, null));
    OpenApiContract.check("GET", "/v1/models", Http.call("GET", port, "/v1/models", null, null));
    OpenApiContract.check("GET", "/v1/models/it-text",
        Http.call("GET", port, "/v1/models/it-text", contractKey, null));
    var missing = OpenApiContract.check("GET", "/v1/models/no-such",
        Http.call("GET", port, "/v1/models/no-such", contractKey, null));
    assertEquals(404, missing.status());
    for (String path : List.of("/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/it-text",
        "/v2/models/it-text/ready", "/v2/models/it-text/versions/v1", "/v2/models/it-text/versions/v1/ready")) {
      var r = OpenApiContract.check("GET", path, Http.call("GET", port, path, contractKey, null));
      assertEquals(200, r.status(), path + ": " + r.body());
    }
    String infer = """
        {"id": "oip-contract-1", "inputs": [{"name": "text_input", "datatype": "BYTES", "shape": [1],
         "data": ["contract first"]}], "parameters": {"max_tokens": 16}}""";
    var ok = OpenApiContract.check("POST", "/v2/models/it-text/infer",
        Http.call("POST", port, "/v2/models/it-text/infer", contractKey, infer));
    assertEquals(200, ok.status(), ok.body());
    assertEquals("first contract", ok.json().get("outputs").get(0).get("data").get(0).asText());
    var anonymous = OpenApiContract.check("POST", "/v2/models/it-text/infer",
        Http.call("POST", port, "/v2/models/it-text/infer", null, infer));
    assertEquals(401, anonymous.status());
    var bad = OpenApiContract.check("POST", "/v2/models/it-text/infer",
        Http.call("POST", port, "/v2/models/it-text/infer", contractKey, "{\"inputs\": []}"));
    assertEquals(400, bad.status(), bad.body());
    var unknown = OpenApiContract.check("GET", "/v2/models/no-such",
        Http.call("GET", port, "/v2/models/no-such", contractKey, null));
    assertEquals(404, unknown.status());
  }

  /** The reflection service's list of services on a gateway port, as raw text. */
  static String reflectedServices(int port) throws Exception {
    io.grpc.ManagedChannel channel = io.grpc.ManagedChannelBuilder
        .forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      io.grpc.MethodDescriptor.Marshaller<byte[]> raw = new io.grpc.MethodDescriptor.Marshaller<>() {
        @Override
        public java.io.InputStream stream(byte[] value) {
          return new java.io.ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(java.io.InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }
      };
      var method = io.grpc.MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
          .setRequestMarshaller(raw).setResponseMarshaller(raw).build();
      var call = channel.newCall(method, io.grpc.CallOptions.DEFAULT);
      var reply = new java.util.concurrent.CompletableFuture<byte[]>();
      call.start(new io.grpc.ClientCall.Listener<>() {
        @Override
        public void onMessage(byte[] message) {
          reply.complete(message);
        }

        @Override
        public void onClose(Status status, io.grpc.Metadata trailers) {
          reply.completeExceptionally(new AssertionError("closed without a reply: " + status));
        }
      }, new io.grpc.Metadata());
      call.request(1);
      // ServerReflectionRequest { list_services (field 7) = "" }
      call.sendMessage(new byte[] {0x3a, 0x00});
      call.halfClose();
      return new String(reply.get(10, java.util.concurrent.TimeUnit.SECONDS),
          java.nio.charset.StandardCharsets.UTF_8);
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void servesRestBesideGrpcOnTheGatewayPort() {
    int port = cluster.nodes.get(0).gatewayPort();
    assertEquals(200, Http.call("GET", port, "/v2/health/live", null, null).status());
    assertEquals(200, Http.call("GET", port, "/v2/health/ready", null, null).status());
    var models = Http.call("GET", port, "/v1/models", acmeKey, null);
    assertEquals(200, models.status(), models.body());
    assertEquals("list", models.json().get("object").asText());
    assertTrue(models.body().contains("\"id\":\"it-text\""), models.body());
    var anonymous = Http.call("GET", port, "/v1/models", null, null);
    assertEquals(401, anonymous.status());
    assertEquals("invalid_request_error", anonymous.json().get("error").get("type").asText());
    assertEquals(401, Http.call("GET", port, "/v1/models", "aimos_acme_" + "1".repeat(76), null).status());
    var missing = Http.call("GET", port, "/v1/nothing-here", acmeKey, null);
    assertEquals(404, missing.status());
    assertTrue(missing.json().get("error").get("message").asText().contains("/v1/nothing-here"));
  }

  @Test
  void servesHealthAndPrometheusMetrics() {
    int port = cluster.managementPort(0);
    String before = Http.call("GET", port, "/metrics", null, null).body();
    for (int i = 0; i < 5; i++) {
      send(acmeKey, null, "metrics please " + i);
    }
    // model names a caller makes up add no series: an authenticated caller's are "unregistered", an anonymous one's "-"
    failsWith(Status.Code.NOT_FOUND, () -> TestCluster.infer(client, acmeKey, "made-up-by-caller-1", null, "hi"));
    failsWith(Status.Code.UNAUTHENTICATED, () -> TestCluster.infer(client, "aimos_acme_" + "7".repeat(64),
        "made-up-by-caller-2", null, "hi"));
    failsWith(Status.Code.UNAUTHENTICATED, () -> client.infer().invoke(InferRequest.newBuilder()
        .setModel("made-up-by-caller-3").setText(TextInput.newBuilder().setPrompt("hi")).build())
        .toCompletableFuture().join());
    assertEquals(401, Http.call("GET", port, "/admin/tenants/acme", "not-an-admin-token-" + "x".repeat(20), null)
        .status());
    assertEquals(200, Http.call("GET", port, "/ready", null, null).status());
    assertEquals(200, Http.call("GET", port, "/alive", null, null).status());
    var members = Http.call("GET", port, "/cluster/members", null, null);
    assertEquals(200, members.status());
    assertTrue(members.body().contains("\"status\":\"Up\""), members.body());
    var metrics = Http.call("GET", port, "/metrics", null, null);
    assertEquals(200, metrics.status());
    assertTrue(metrics.body().contains("aimos_requests_total{model=\"it-text\",outcome=\"ok\""), metrics.body());
    assertTrue(metrics.body().contains("aimos_request_duration_seconds_bucket"));
    assertTrue(metrics.body().contains("aimos_sandbox_state{model=\"it-text\",version=\"v1\",state=\"ready\",} 1.0"),
        metrics.body());
    assertFalse(metrics.body().contains("made-up-by-caller"), metrics.body());
    assertTrue(sample(metrics.body(), "aimos_requests_total{model=\"unregistered\",outcome=\"NOT_FOUND\",}") >= 1);
    assertTrue(sample(metrics.body(), "aimos_requests_total{model=\"-\",outcome=\"UNAUTHENTICATED\",}") >= 2);
    assertTrue(sample(metrics.body(), "aimos_auth_failures_total{reason=\"missing_key\",}") >= 1, metrics.body());
    assertTrue(sample(metrics.body(), "aimos_auth_failures_total{reason=\"invalid_key\",}") >= 1, metrics.body());
    assertTrue(sample(metrics.body(), "aimos_admin_auth_failures_total{reason=\"refused\",}") >= 1, metrics.body());
    assertTrue(sample(metrics.body(), "aimos_prompt_tokens_total{model=\"it-text\",}") >= 5, metrics.body());
    assertTrue(sample(metrics.body(), "aimos_lease_wait_seconds_count{model=\"it-text\",}") >= 5, metrics.body());
    assertEquals(1, sample(metrics.body(), "aimos_cluster_members{status=\"up\",}"), metrics.body());
    assertEquals(0, sample(metrics.body(), "aimos_cluster_unreachable_members"), metrics.body());
    assertTrue(sample(metrics.body(), "aimos_sandbox_cold_starts_total{model=\"it-text\",version=\"v1\",}") >= 1);
    assertTrue(metrics.body().contains("aimos_build_info{version=\"" + aimos.node.metrics.AimosMetrics.version()
        + "\","), metrics.body());
    // the answered requests' usage events reach the rollups and are counted in the freshness histogram; with the
    // default settings most are visible within 2 s (the tag query alone waited 2 s before they were tuned)
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      String body = Http.call("GET", port, "/metrics", null, null).body();
      assertTrue(sample(body, "aimos_usage_freshness_seconds_count") >= sample(before,
          "aimos_usage_freshness_seconds_count") + 5, body);
      return null;
    });
    String after = Http.call("GET", port, "/metrics", null, null).body();
    String within2s = "aimos_usage_freshness_seconds_bucket{le=\"2.0\",}";
    assertTrue(sample(after, within2s) - sample(before, within2s) >= 3, () -> "freshness of 5 requests: " + after
        .lines().filter(l -> l.startsWith("aimos_usage_freshness_seconds")).toList() + ", before: " + before
        .lines().filter(l -> l.startsWith("aimos_usage_freshness_seconds")).toList());
  }

  @Test
  void everyAnswerCarriesThePlatformsOwnTime() {
    // a tenant of its own, so that acme's ledger rows stay exactly the mixed-traffic test's
    String key = Http.tenantWithKey(cluster, "timed", 1000, 16);
    int managementPort = cluster.managementPort(0);
    String before = Http.call("GET", managementPort, "/metrics", null, null).body();
    InferRequest req = InferRequest.newBuilder().setModel("it-text").setRequestId("overhead-1")
        .setText(TextInput.newBuilder().setPrompt("how long did the platform take")).build();
    long t0 = System.nanoTime();
    // a caller cannot pick the timing slot of another request: its own header of that name is dropped
    var unary = client.infer().addHeader("authorization", "Bearer " + key)
        .addHeader("aimos-internal-timing-slot", "1").invokeWithMetadata(req).toCompletableFuture().join();
    double elapsedMs = (System.nanoTime() - t0) / 1e6;
    assertEquals("take platform the did long how", unary.value().getText().getCompletion());
    double unaryMs = Double.parseDouble(unary.getTrailers().toCompletableFuture().join()
        .getText("aimos-overhead-ms").orElseThrow(() -> new AssertionError("no aimos-overhead-ms trailer")));
    assertTrue(unaryMs >= 0 && unaryMs <= elapsedMs, unaryMs + " ms of " + elapsedMs);

    // a stream has it in the trailer after its last message
    var stream = client.inferStream().addHeader("authorization", "Bearer " + key).invokeWithMetadata(
        req.toBuilder().setRequestId("overhead-2").build());
    var run = stream.toMat(org.apache.pekko.stream.javadsl.Sink.seq(), org.apache.pekko.stream.javadsl.Keep.both())
        .run(cluster.nodes.get(0).system());
    var pieces = run.second().toCompletableFuture().join();
    assertTrue(pieces.get(pieces.size() - 1).hasDone());
    var streamTrailers = run.first().toCompletableFuture().join().getTrailers().toCompletableFuture().join();
    assertTrue(Double.parseDouble(streamTrailers.getText("aimos-overhead-ms")
        .orElseThrow(() -> new AssertionError("no aimos-overhead-ms trailer on the stream"))) >= 0);
    // REST answers have it as a header; requests that never reach a model's flow do not
    int port = cluster.nodes.get(0).gatewayPort();
    var rest = Http.call("POST", port, "/v1/completions", key, "{\"model\": \"it-text\", \"prompt\": \"a b\"}");
    assertEquals(200, rest.status(), rest.body());
    assertTrue(Double.parseDouble(rest.headers().get("aimos-overhead-ms").get(0)) >= 0, rest.headers().toString());
    assertFalse(Http.call("GET", port, "/v1/models", key, null).headers().containsKey("aimos-overhead-ms"));
    String after = Http.call("GET", managementPort, "/metrics", null, null).body();
    assertTrue(sample(after, "aimos_request_overhead_seconds_count")
        >= sample(before, "aimos_request_overhead_seconds_count") + 3, after);
  }

  /** The value of a sample (name and labels as exported) in a Prometheus text scrape. */
  private static double sample(String metrics, String sample) {
    return metrics.lines().filter(l -> l.startsWith(sample + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst()
        .orElseThrow(() -> new AssertionError("no " + sample + " in " + metrics));
  }
}
