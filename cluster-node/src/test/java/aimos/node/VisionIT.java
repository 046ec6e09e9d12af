package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.ImageInput;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.billing.ledger.LedgerRow;
import aimos.node.dev.DemoReadiness;
import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * PaddleOCR models in sandboxes, over gRPC and KServe's Open Inference Protocol v2: rendered text lines are read and
 * their orientation told, one image is one billed unit, bad images are refused and bill nothing.
 */
class VisionIT {
  private static TestCluster cluster;
  private static String key;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1);
    Http.model(cluster, "it-ocr", "ocr-text", "IMAGES", 1);
    Http.model(cluster, "it-orientation", "ocr-orientation", "IMAGES", 1);
    Http.model(cluster, "it-oip-text", "echo-text", "TOKENS", 1);
    Http.model(cluster, "it-oip-embed", "minilm-embeddings", "TOKENS", 1);
    key = Http.tenantWithKey(cluster, "vision-co", 1000, 16);
    for (String model : List.of("it-ocr", "it-orientation", "it-oip-text", "it-oip-embed")) {
      cluster.awaitWorkerReady(model, "v1");
    }
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  static byte[] fixture(String name) {
    return Fixtures.image(name);
  }

  /** An OIP v2 infer call whose answer, whatever its status, must match the OpenAPI document. */
  private static OpenAiRestIT.Reply oip(String path, String apiKey, String body) {
    OpenAiRestIT.Reply r = OpenAiRestIT.post(cluster, path, apiKey, null, body);
    OpenApiContract.check("POST", path, r.raw());
    return r;
  }

  private static String imageRequest(String id, String file) {
    return """
        {"id": "%s", "inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": ["%s"]}]}"""
        .formatted(id, Base64.getEncoder().encodeToString(fixture(file)));
  }

  /** {@code bin/aimos dev}'s readiness probes: each sample input is one that these runtimes answer. */
  @Test
  void devReadinessProbesGetAnswers() {
    DemoProbes.everyModelAnswers(cluster, "vision-ready", Map.of("it-ocr", "ocr-text", "it-orientation",
        "ocr-orientation", "it-oip-text", "echo-text", "it-oip-embed", "minilm-embeddings"));
    String readinessKey = Http.tenantWithKey(cluster, "vision-refused", 1000, 16);
    var client = cluster.client(0);
    try {
      // an input the model cannot take ends the wait for it at once, with the reason; a model this node does not
      // know (yet) is asked again until the time is up
      var refused = DemoReadiness.await(client, readinessKey, List.of(
          new DemoReadiness.Probe("it-ocr", DemoReadiness.sampleRequest("it-ocr", "echo-text")),
          new DemoReadiness.Probe("no-such-model", DemoReadiness.sampleRequest("no-such-model", "echo-text"))),
          Duration.ofSeconds(2), System.out);
      assertTrue(refused.failures().getOrDefault("it-ocr", "").startsWith("INVALID_ARGUMENT"), refused.toString());
      assertTrue(refused.failures().getOrDefault("no-such-model", "").startsWith("NOT_FOUND"), refused.toString());
      assertTrue(refused.answered().isEmpty(), refused.toString());
    } finally {
      client.close();
    }
  }

  @Test
  void grpcReadsTheTextOfAnImageAndBillsOneImage() {
    InferResponse r = cluster.client(0).infer().addHeader("authorization", "Bearer " + key).invoke(
        InferRequest.newBuilder().setModel("it-ocr").setRequestId("v-grpc-1")
            .setImage(ImageInput.newBuilder().setData(ByteString.copyFrom(fixture("line-invoice.png")))).build())
        .toCompletableFuture().join();
    assertEquals("Invoice 4711 total 99.50 USD", r.getImage().getText());
    assertEquals(1, r.getUsage().getImages());
    assertEquals(0, r.getUsage().getPromptTokens());
    assertEquals("0.010000", r.getUsage().getChargeUsd(), "the catalog's price of one image");
    awaitLedger("v-grpc", Set.of("v-grpc-1"));
  }

  @Test
  void openInferenceProtocolServesVisionTextAndEmbeddingModels() {
    JsonNode meta = Http.call("GET", cluster.nodes.get(0).gatewayPort(), "/v2/models/it-ocr", key, null).json();
    assertEquals("it-ocr", meta.get("name").asText());
    assertEquals("image", meta.get("inputs").get(0).get("name").asText());
    assertEquals("text", meta.get("outputs").get(0).get("name").asText());
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      assertEquals(200, Http.call("GET", cluster.nodes.get(0).gatewayPort(), "/v2/models/it-orientation/ready", key,
          null).status());
      return null;
    });

    OpenAiRestIT.Reply ocr = oip("/v2/models/it-ocr/infer", key, imageRequest("v-oip-1", "line-metering.jpg"));
    assertEquals(200, ocr.status(), ocr.json().toString());
    assertEquals("v-oip-1", ocr.json().get("id").asText());
    assertEquals("Metering every image exactly once", ocr.json().get("outputs").get(0).get("data").get(0).asText());
    assertEquals(1, ocr.json().get("parameters").get("images").asInt());

    OpenAiRestIT.Reply flipped = oip("/v2/models/it-orientation/versions/v1/infer", key,
        imageRequest("v-oip-2", "line-invoice-upside-down.png"));
    assertEquals(200, flipped.status(), flipped.json().toString());
    assertEquals("label", flipped.json().get("outputs").get(0).get("name").asText());
    assertEquals("180", flipped.json().get("outputs").get(0).get("data").get(0).asText());
    assertTrue(flipped.json().get("outputs").get(1).get("data").get(0).asDouble() > 0.5);
    // the same id and request again is a replay: answered, not billed twice; with another version asked for it is
    // another request (409)
    assertTrue(oip("/v2/models/it-orientation/versions/v1/infer", key, imageRequest("v-oip-2",
        "line-invoice-upside-down.png")).json().get("parameters").get("replayed").asBoolean());
    assertEquals(409, oip("/v2/models/it-orientation/infer", key, imageRequest("v-oip-2",
        "line-invoice-upside-down.png")).status());

    OpenAiRestIT.Reply text = oip("/v2/models/it-oip-text/infer", key, """
        {"id": "v-oip-3", "inputs": [{"name": "text_input", "shape": [1], "datatype": "BYTES",
         "data": ["open inference protocol"]}], "parameters": {"max_tokens": 16}}""");
    assertEquals("protocol inference open", text.json().get("outputs").get(0).get("data").get(0).asText());
    OpenAiRestIT.Reply embed = oip("/v2/models/it-oip-embed/infer", key, """
        {"id": "v-oip-4", "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}""");
    assertEquals("FP32", embed.json().get("outputs").get(0).get("datatype").asText());
    assertEquals(List.of(2, 384), List.of(embed.json().get("outputs").get(0).get("shape").get(0).asInt(),
        embed.json().get("outputs").get(0).get("shape").get(1).asInt()));
    assertEquals(768, embed.json().get("outputs").get(0).get("data").size());

    awaitLedger("v-oip", Set.of("v-oip-1", "v-oip-2", "v-oip-3", "v-oip-4"));
  }

  @Test
  void badImagesAndTensorsAreRefusedAndBillNothing() {
    expect(oip("/v2/models/it-ocr/infer", key, imageRequest("v-bad-1", "corrupt-truncated.png")), 400, "PNG, JPEG");
    expect(oip("/v2/models/it-ocr/infer", key, """
        {"id": "v-bad-2", "inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": ["%%%"]}]}"""),
        400, "base64");
    expect(oip("/v2/models/it-ocr/infer", key, """
        {"id": "v-bad-3", "inputs": [{"name": "pixels", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}"""),
        400, "unknown input tensor");
    expect(oip("/v2/models/it-ocr/infer", key, """
        {"id": "v-bad-4", "inputs": [{"name": "text_input", "shape": [1], "datatype": "BYTES", "data": ["hi"]}]}"""),
        400, "reads images");
    expect(oip("/v2/models/no-such/infer", key, imageRequest("v-bad-5", "line-invoice.png")), 404, "no-such");
    expect(oip("/v2/models/it-ocr/infer", null, imageRequest("v-bad-6", "line-invoice.png")), 401, "API key");
    expect(oip("/v2/models/it-ocr/infer", key, """
        {"id": "v-bad-7", "inputs": [{"name": "image", "shape": [1], "datatype": "FP32", "data": [1.0]}]}"""),
        400, "datatype BYTES");
    expect(oip("/v2/models/it-ocr/infer", key, """
        {"id": "v-bad-8", "inputs": []}"""), 400, "exactly one tensor");
    // over gRPC: an image with no bytes, and a stream of something that is not text
    var empty = InferenceIT.failsWith(io.grpc.Status.Code.INVALID_ARGUMENT, () -> cluster.client(0).infer()
        .addHeader("authorization", "Bearer " + key).invoke(InferRequest.newBuilder().setModel("it-ocr")
            .setRequestId("v-bad-9").setImage(ImageInput.getDefaultInstance()).build()).toCompletableFuture().join());
    assertTrue(empty.getStatus().getDescription().contains("image.data is empty"), empty.getStatus().toString());
    var streamed = InferenceIT.failsWith(io.grpc.Status.Code.INVALID_ARGUMENT, () -> cluster.client(0).inferStream()
        .addHeader("authorization", "Bearer " + key).invoke(InferRequest.newBuilder().setModel("it-ocr")
            .setRequestId("v-bad-10").setImage(ImageInput.newBuilder()
                .setData(ByteString.copyFrom(fixture("line-invoice.png")))).build())
        .runWith(org.apache.pekko.stream.javadsl.Sink.seq(), cluster.nodes.get(0).system()).toCompletableFuture()
        .join());
    assertTrue(streamed.getStatus().getDescription().contains("InferStream streams text"),
        streamed.getStatus().toString());
    assertEquals(404, Http.call("GET", cluster.nodes.get(0).gatewayPort(), "/v2/models/no-such", key, null).status());
    // model metadata is for holders of a valid key only
    assertEquals(401, Http.call("GET", cluster.nodes.get(0).gatewayPort(), "/v2/models/it-ocr",
        "aimos_vision-co_" + "0".repeat(76), null).status());
    assertEquals(401, Http.call("GET", cluster.nodes.get(0).gatewayPort(), "/v2/models/it-ocr/ready", "not-a-key",
        null).status());
    // a vision runtime is metered per image: the catalog refuses any other unit
    var wrongUnit = Http.admin(cluster, "POST", "/admin/models/it-ocr/versions",
        "{\"version\": \"v2\", \"runtime\": \"ocr-text\", \"billingUnit\": \"TOKENS\"}");
    assertEquals(400, wrongUnit.status(), wrongUnit.body());
    assertTrue(wrongUnit.body().contains("IMAGES"), wrongUnit.body());
    // any ONNX image model can be served, from a file every hosting node has
    var noFile = Http.admin(cluster, "POST", "/admin/models/it-ocr/versions",
        "{\"version\": \"v3\", \"runtime\": \"onnx-image:/nowhere/model.onnx\", \"billingUnit\": \"IMAGES\"}");
    assertEquals(400, noFile.status(), noFile.body());
    assertTrue(noFile.body().contains("no readable model file"), noFile.body());
  }

  private static void expect(OpenAiRestIT.Reply r, int status, String messagePart) {
    assertEquals(status, r.status(), r.json().toString());
    assertTrue(r.json().get("error").asText().contains(messagePart), r.json().toString());
  }

  /** The ledger rows of requests whose ids start with {@code prefix} are exactly {@code ids}; no bad request billed. */
  private static void awaitLedger(String prefix, Set<String> ids) {
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      List<LedgerRow> rows = cluster.ledgerRows("vision-co", month);
      List<LedgerRow> mine = rows.stream().filter(r -> r.requestId().startsWith(prefix)).toList();
      assertEquals(ids, mine.stream().map(LedgerRow::requestId).collect(Collectors.toSet()));
      assertEquals(ids.size(), mine.size(), "one row per request");
      assertTrue(rows.stream().noneMatch(r -> r.requestId().startsWith("v-bad")));
      mine.stream().filter(r -> r.unit() == aimos.api.v1.BillingUnit.IMAGES)
          .forEach(r -> assertEquals(1, r.units().images(), r.toString()));
      return null;
    });
  }
}
