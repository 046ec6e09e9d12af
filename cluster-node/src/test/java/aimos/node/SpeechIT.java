package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.AudioInput;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.billing.ledger.LedgerRow;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sphinx4 in a sandbox, over OpenAI's /v1/audio/transcriptions (multipart), KServe OIP v2 and gRPC: recorded and
 * synthesised speech transcribed with grammars, billed by the second rounded up, bad audio refused and not billed.
 */
class SpeechIT {
  private static final String COMMANDS = Fixtures.COMMANDS;
  private static TestCluster cluster;
  private static String key;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1);
    Http.model(cluster, "it-speech", "sphinx-speech", "AUDIO_MINUTES", 1);
    cluster.awaitWorkerReady("it-speech", "v1");
    key = Http.tenantWithKey(cluster, "speech-co", 1000, 16);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  static byte[] fixture(String name) {
    return Fixtures.audio(name);
  }

  /** A multipart/form-data POST as OpenAI's SDKs send it: the file part, then the text fields. */
  static HttpResponse<String> transcribe(String id, String file, Map<String, String> fields) throws Exception {
    String boundary = "aimos-" + id;
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    if (file != null) {
      body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + file
          + "\"\r\nContent-Type: audio/wav\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      body.write(fixture(file));
      body.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    for (var f : fields.entrySet()) {
      body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n"
          + f.getValue() + "\r\n").getBytes(StandardCharsets.UTF_8));
    }
    body.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cluster.nodes.get(0).gatewayPort()
            + "/v1/audio/transcriptions"))
        .header("Authorization", "Bearer " + key).header("Idempotency-Key", id)
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
    // every answer, the refusals too, must match the OpenAPI document
    return OpenApiContract.check("POST", "/v1/audio/transcriptions", HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1).build().send(request, HttpResponse.BodyHandlers.ofString()));
  }

  private static Map<String, String> fields(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  /** {@code bin/aimos dev}'s readiness probes: each sample input is one that these runtimes answer. */
  @Test
  void devReadinessProbesGetAnswers() {
    DemoProbes.everyModelAnswers(cluster, "speech-ready", Map.of("it-speech", "sphinx-speech"));
  }


  @Test
  void transcribesOverOpenAiOipAndGrpcAndBillsBySecondRoundedUp() throws Exception {
    HttpResponse<String> json = transcribe("s-1", "open-the-door-44k-stereo.wav",
        fields("model", "it-speech", "grammar", COMMANDS));
    assertEquals(200, json.statusCode(), json.body());
    JsonNode r = new ObjectMapper().readTree(json.body());
    assertEquals("open the door", r.get("text").asText());
    assertEquals("duration", r.get("usage").get("type").asText());
    assertEquals(2, r.get("usage").get("seconds").asInt(), "1.45 s of audio bills 2 s");
    assertEquals("0.003333", r.get("usage").get("charge_usd").asText(), "2/60 of $0.10 a minute");

    HttpResponse<String> verbose = transcribe("s-2", "open-the-door-16k.aiff",
        fields("model", "it-speech", "grammar", COMMANDS, "response_format", "verbose_json"));
    JsonNode v = new ObjectMapper().readTree(verbose.body());
    assertEquals("transcribe", v.get("task").asText());
    assertEquals(1.446, v.get("duration").asDouble(), 0.03);
    HttpResponse<String> text = transcribe("s-3", "open-the-door-16k.wav",
        fields("model", "it-speech", "grammar", COMMANDS, "response_format", "text"));
    assertEquals("open the door", text.body());

    // real recorded speech, through OIP with the grammar as a parameter
    String cards = new String(fixture("cards.gram"), StandardCharsets.UTF_8);
    String oipBody = """
        {"id": "s-4", "inputs": [{"name": "audio", "shape": [1], "datatype": "BYTES", "data": ["%s"]}],
         "parameters": {"grammar": %s}}""".formatted(Base64.getEncoder().encodeToString(
        fixture("cards-three-cards.wav")), new ObjectMapper().writeValueAsString(cards));
    OpenAiRestIT.Reply oip = OpenAiRestIT.post(cluster, "/v2/models/it-speech/infer", key, null, oipBody);
    assertEquals(200, oip.status(), oip.json().toString());
    assertEquals("eight of spades four of clubs seven of hearts",
        oip.json().get("outputs").get(0).get("data").get(0).asText());

    InferResponse grpc = cluster.client(0).infer().addHeader("authorization", "Bearer " + key).invoke(
        InferRequest.newBuilder().setModel("it-speech").setRequestId("s-5").setAudio(AudioInput.newBuilder()
            .setData(ByteString.copyFrom(fixture("cards-ten-of-clubs.wav"))).setGrammar(cards)).build())
        .toCompletableFuture().join();
    assertEquals("ten of clubs", grpc.getTranscript().getText());
    assertEquals(1095, grpc.getTranscript().getDurationMillis(), 1);
    assertEquals(2000, grpc.getUsage().getAudioMillis());

    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      List<LedgerRow> rows = cluster.ledgerRows("speech-co", month);
      assertEquals(Set.of("s-1", "s-2", "s-3", "s-4", "s-5"), rows.stream().map(LedgerRow::requestId)
          .collect(Collectors.toSet()));
      LedgerRow first = rows.stream().filter(row -> row.requestId().equals("s-1")).findFirst().orElseThrow();
      assertEquals(2000, first.units().audioMillis());
      assertEquals(3333, first.chargeMicros());
      return null;
    });
  }

  @Test
  void aTranscriptionsIdempotencyKeyBuysOneTranscriptOfOneFile() throws Exception {
    HttpResponse<String> first = transcribe("once-1", "open-the-door-16k.wav",
        fields("model", "it-speech", "grammar", COMMANDS));
    assertEquals(200, first.statusCode(), first.body());
    HttpResponse<String> again = transcribe("once-1", "open-the-door-16k.wav",
        fields("model", "it-speech", "grammar", COMMANDS));
    assertEquals(200, again.statusCode(), again.body());
    JsonNode replay = new ObjectMapper().readTree(again.body());
    assertTrue(replay.get("usage").get("replayed").asBoolean(), again.body());
    assertEquals("open the door", replay.get("text").asText());
    // the same key with another recording (a longer one): refused, not transcribed for free
    HttpResponse<String> other = transcribe("once-1", "cards-three-cards.wav",
        fields("model", "it-speech", "grammar", new String(fixture("cards.gram"), StandardCharsets.UTF_8)));
    assertEquals(409, other.statusCode(), other.body());
    assertEquals("idempotency_key_reused", new ObjectMapper().readTree(other.body()).get("error").get("code").asText());
  }

  @Test
  void badAudioAndFieldsAreRefusedAndBillNothing() throws Exception {
    expect(transcribe("sb-1", "not-audio.wav", fields("model", "it-speech")), 400, "WAV, AIFF or AU");
    expect(transcribe("sb-2", null, fields("model", "it-speech")), 400, "file is required");
    expect(transcribe("sb-3", "open-the-door-16k.wav", fields()), 400, "model is required");
    expect(transcribe("sb-4", "open-the-door-16k.wav", fields("model", "it-speech", "response_format", "srt")), 400,
        "response_format");
    expect(transcribe("sb-5", "open-the-door-16k.wav", fields("model", "it-speech", "language", "fr")), 400,
        "English");
    expect(transcribe("sb-6", "open-the-door-16k.wav", fields("model", "it-speech", "grammar", "open | close")), 400,
        "JSGF");
    var tooLong = InferenceIT.failsWith(io.grpc.Status.Code.INVALID_ARGUMENT, () -> cluster.client(0).infer()
        .addHeader("authorization", "Bearer " + key).invoke(InferRequest.newBuilder().setModel("it-speech")
            .setRequestId("sb-7").setAudio(AudioInput.newBuilder().setData(ByteString.copyFrom(
                fixture("open-the-door-16k.wav"))).setGrammar("x".repeat(70_000))).build())
        .toCompletableFuture().join());
    assertTrue(tooLong.getStatus().getDescription().contains("64 KiB"), tooLong.getStatus().toString());
    var empty = InferenceIT.failsWith(io.grpc.Status.Code.INVALID_ARGUMENT, () -> cluster.client(0).infer()
        .addHeader("authorization", "Bearer " + key).invoke(InferRequest.newBuilder().setModel("it-speech")
            .setRequestId("sb-8").setAudio(AudioInput.getDefaultInstance()).build()).toCompletableFuture().join());
    assertTrue(empty.getStatus().getDescription().contains("audio.data is empty"), empty.getStatus().toString());
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    assertTrue(cluster.ledgerRows("speech-co", month).stream()
        .noneMatch(r -> r.requestId().startsWith("sb-")));
  }

  private static void expect(HttpResponse<String> r, int status, String messagePart) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    JsonNode error = new ObjectMapper().readTree(r.body()).get("error");
    assertTrue(error.get("message").asText().contains(messagePart), r.body());
  }
}
