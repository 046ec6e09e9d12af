package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferStreamResponse;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import aimos.billing.ledger.LedgerRow;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Text streamed as the model produces it, over gRPC (InferStream) and OpenAI's server-sent events: the pieces make
 * the metered completion, the stream ends with the usage, and each streamed request is billed once.
 */
class StreamingIT {
  private static final Encoding CL100K = Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestCluster cluster;
  private static InferenceServiceClient client;
  private static String key;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1);
    client = cluster.client(0);
    Http.model(cluster, "stream-lm", "trigram-lm", "TOKENS", 1);
    cluster.awaitWorkerReady("stream-lm", "v1");
    key = Http.tenantWithKey(cluster, "streamer", 1000, 16);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static List<InferStreamResponse> stream(String requestId, String prompt, int maxTokens) {
    return client.inferStream().addHeader("authorization", "Bearer " + key).invoke(InferRequest.newBuilder()
            .setModel("stream-lm").setRequestId(requestId)
            .setText(TextInput.newBuilder().setPrompt(prompt).setMaxTokens(maxTokens)).build())
        .runWith(Sink.seq(), cluster.nodes.get(0).system()).toCompletableFuture().join();
  }

  /** {@code bin/aimos dev}'s readiness probes: each sample input is one that these runtimes answer. */
  @Test
  void devReadinessProbesGetAnswers() {
    DemoProbes.everyModelAnswers(cluster, "stream-ready", Map.of("stream-lm", "trigram-lm"));
  }


  @Test
  void grpcStreamsTheModelsWordsThenTheMeteredResponse() {
    List<InferStreamResponse> events = stream("s-1", "I flew to New York", 40);
    assertTrue(events.size() >= 10, "one event per word, then the end: " + events.size());
    InferStreamResponse last = events.get(events.size() - 1);
    assertTrue(last.hasDone(), last.toString());
    String streamed = events.subList(0, events.size() - 1).stream().map(e -> e.getDelta().getText())
        .collect(Collectors.joining());
    assertEquals(last.getDone().getText().getCompletion(), streamed);
    assertTrue(streamed.startsWith("city"), streamed);
    assertEquals(CL100K.countTokens(streamed), last.getDone().getUsage().getCompletionTokens());
    assertFalse(last.getDone().getReplayed());
    // the same request id again: answered from the recording (the model does not run), not billed twice
    List<InferStreamResponse> again = stream("s-1", "I flew to New York", 40);
    assertEquals(1, again.size(), again.toString());
    assertTrue(again.get(0).getDone().getReplayed());
    assertEquals(streamed, again.get(0).getDone().getText().getCompletion(), "the output this node kept");

    // bad input fails the call before any event, with the same status as Infer
    CompletionException bad = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> stream("s-bad", "  ", 10));
    assertEquals(Status.Code.INVALID_ARGUMENT, ((StatusRuntimeException) bad.getCause()).getStatus().getCode());
    awaitLedger(Set.of("s-1"), "s-");
  }

  @Test
  void streamsAreCountedWhetherTheyStartOrNot() {
    int management = cluster.managementPort(0);
    String before = Http.call("GET", management, "/metrics", null, null).body();
    CompletionException anonymous = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
        () -> client.inferStream().invoke(InferRequest.newBuilder().setModel("stream-lm")
                .setText(TextInput.newBuilder().setPrompt("hello")).build())
            .runWith(Sink.seq(), cluster.nodes.get(0).system()).toCompletableFuture().join());
    assertEquals(Status.Code.UNAUTHENTICATED, ((StatusRuntimeException) anonymous.getCause()).getStatus().getCode());
    org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, () -> stream("m-bad", " ", 5));
    assertTrue(stream("m-1", "I flew to New York", 5).size() > 1);
    String after = Http.call("GET", management, "/metrics", null, null).body();
    // a stream's body has no length, so the gateway's guard checks its key before reading it, and counts the failure
    assertEquals(1, sample(after, "aimos_auth_failures_total{reason=\"missing_key\",}")
        - sample(before, "aimos_auth_failures_total{reason=\"missing_key\",}"), after);
    assertEquals(1, sample(after, "aimos_requests_total{model=\"stream-lm\",outcome=\"INVALID_ARGUMENT\",}")
        - sample(before, "aimos_requests_total{model=\"stream-lm\",outcome=\"INVALID_ARGUMENT\",}"), after);
    assertEquals(1, sample(after, "aimos_requests_total{model=\"stream-lm\",outcome=\"ok\",}")
        - sample(before, "aimos_requests_total{model=\"stream-lm\",outcome=\"ok\",}"), after);
    assertEquals(1, sample(after, "aimos_time_to_first_token_seconds_count{model=\"stream-lm\",}")
        - sample(before, "aimos_time_to_first_token_seconds_count{model=\"stream-lm\",}"), after);
  }

  /** The value of a sample (name and labels as exported) in a Prometheus text scrape; 0 when absent. */
  private static double sample(String metrics, String sample) {
    return metrics.lines().filter(l -> l.startsWith(sample + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(0);
  }

  @Test
  void openAiStreamingAnswersWithServerSentEventsAndTheUsageChunk() throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cluster.nodes.get(0).gatewayPort()
            + "/v1/chat/completions"))
        .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
        .header("Idempotency-Key", "sse-1")
        .POST(HttpRequest.BodyPublishers.ofString("""
            {"model": "stream-lm", "messages": [{"role": "user", "content": "the weather today"}], "max_tokens": 30,
             "stream": true, "stream_options": {"include_usage": true}}"""))
        .build();
    HttpResponse<java.util.stream.Stream<String>> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .build().send(request, HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    List<String> data = r.body().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
    assertEquals("[DONE]", data.get(data.size() - 1));
    List<JsonNode> chunks = new ArrayList<>();
    for (String d : data.subList(0, data.size() - 1)) {
      chunks.add(JSON.readTree(d));
    }
    assertEquals("assistant", chunks.get(0).get("choices").get(0).get("delta").get("role").asText());
    StringBuilder text = new StringBuilder();
    for (JsonNode c : chunks) {
      assertEquals("chat.completion.chunk", c.get("object").asText());
      assertEquals("chatcmpl-sse-1", c.get("id").asText());
      if (c.get("choices").size() > 0) {
        text.append(c.get("choices").get(0).get("delta").get("content").asText());
      }
    }
    JsonNode finish = chunks.get(chunks.size() - 2);
    assertEquals("length", finish.get("choices").get(0).get("finish_reason").asText());
    JsonNode usage = chunks.get(chunks.size() - 1).get("usage");
    assertEquals(0, chunks.get(chunks.size() - 1).get("choices").size());
    assertTrue(chunks.size() >= 12, "a chunk per word: " + chunks.size());
    assertEquals(CL100K.countTokens(text.toString()), usage.get("completion_tokens").asLong());
    assertEquals(CL100K.countTokens("the weather today"), usage.get("prompt_tokens").asLong());

    // a streamed answer is the same text as the whole one (the model is deterministic)
    OpenAiRestIT.Reply whole = OpenAiRestIT.post(cluster, "/v1/chat/completions", key, "sse-whole", """
        {"model": "stream-lm", "messages": [{"role": "user", "content": "the weather today"}], "max_tokens": 30}""");
    assertEquals(whole.json().get("choices").get(0).get("message").get("content").asText(), text.toString());
    awaitLedger(Set.of("sse-1", "sse-whole"), "sse-");
  }

  private static void awaitLedger(Set<String> ids, String prefix) {
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      List<LedgerRow> rows = cluster.ledgerRows("streamer", month)
          .stream().filter(row -> row.requestId().startsWith(prefix)).toList();
      assertEquals(ids, rows.stream().map(LedgerRow::requestId).collect(Collectors.toSet()));
      assertEquals(ids.size(), rows.size());
      return null;
    });
  }
}
