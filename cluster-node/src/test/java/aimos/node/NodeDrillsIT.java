package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import aimos.billing.alerts.BudgetAlertProjection;
import aimos.billing.webhook.WebhookSignature;
import aimos.cassandra.SharedCassandra;
import aimos.chaos.cluster.LocalCluster;
import aimos.chaos.drill.AdminClient;
import aimos.chaos.drill.Drill;
import aimos.chaos.drill.DrillRun;
import aimos.chaos.tls.LocalCa;
import aimos.tenant.Money;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.ConfigFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Short node drills on a real cluster of three node processes, each in its own network namespace, on the JVM's shared
 * Cassandra: kill -9, graceful restart, and a network cut of the node hosting the drill tenant. Every invariant must
 * hold: nothing acknowledged lost, nothing billed twice, the minority downed, one writer per entity. The nodes speak
 * TLS on every port with certificates from a {@link LocalCa}, as {@code bin/aimos cluster up} starts them, so the
 * drills' gRPC and admin clients and the cluster's probes work over TLS here. Last, budget alerts and the webhook
 * outbox across a kill -9 of the node hosting the alerted tenant.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeDrillsIT {
  private static final Logger log = LoggerFactory.getLogger(NodeDrillsIT.class);
  private static LocalCluster cluster;
  private static ActorSystem<Void> client;
  private static Path reports;

  @BeforeAll
  static void start() throws Exception {
    assertEquals("0", new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes()).strip(),
        "node drills put nodes in network namespaces, which needs root (as CI runs)");
    long pid = ProcessHandle.current().pid();
    String cassandraPort = SharedCassandra.contactPoint().split(":")[1];
    String subnet = "10.214." + (pid % 250);
    Path dir = Files.createTempDirectory("aimos-node-drills");
    String keyspaces = "nd" + pid;
    String hour = LocalDateTime.now(ZoneOffset.UTC).minusHours(1).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HH:00"));
    List<String> options = List.of("-Xmx384m",
        "-Daimos.billing.keyspace=" + keyspaces + "_billing",
        "-Dpekko.persistence.cassandra.journal.keyspace=" + keyspaces + "_journal",
        "-Dpekko.persistence.cassandra.snapshot.keyspace=" + keyspaces + "_snapshot",
        "-Dpekko.projection.cassandra.offset-store.keyspace=" + keyspaces + "_offsets",
        "-Dpekko.persistence.cassandra.events-by-tag.first-time-bucket=" + hour,
        "-Dpekko.persistence.cassandra.events-by-tag.eventual-consistency-delay=1s",
        "-Daimos.metrics.jvm=off",
        // the budget-alert test's webhooks: due rows read every 200 ms, failed attempts retried every 2 s
        "-Daimos.webhooks.poll-interval=200ms",
        "-Daimos.webhooks.retry-schedule.0=0s", "-Daimos.webhooks.retry-schedule.1=2s",
        "-Daimos.webhooks.retry-schedule.2=2s", "-Daimos.webhooks.retry-schedule.3=2s",
        "-Daimos.webhooks.retry-schedule.4=2s", "-Daimos.webhooks.retry-schedule.5=2s",
        "-Daimos.webhooks.retry-schedule.6=2s", "-Daimos.webhooks.retry-schedule.7=2s");
    String classpath = Path.of("target/classes").toAbsolutePath() + ":"
        + Files.readString(Path.of("target/runtime.classpath")).strip();
    cluster = new LocalCluster(new LocalCluster.Layout(dir, 3, "ait" + pid % 1000, subnet,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), classpath, options,
        subnet + ".1:" + cassandraPort), log::info);
    // as 'bin/aimos cluster up' does: every port over TLS with the local CA's files, made in the cluster's folder
    cluster.useTls(LocalCa.ensure(dir.resolve("tls"), cluster.hostNames()));
    cluster.createNetwork();
    cluster.save();
    cluster.startAll(Duration.ofMinutes(3));
    client = ActorSystem.create(Behaviors.empty(), "drill-clients", ConfigFactory.parseString("""
        pekko.loglevel = WARNING
        pekko.actor.provider = local
        """).withFallback(ConfigFactory.load()));
    reports = dir.resolve("reports");
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.terminate();
    }
    if (cluster != null) {
      for (int i = 3; i >= 1; i--) {
        cluster.kill(i);
      }
      cluster.removeNetwork();
    }
  }

  /** The probes that found the nodes ready went over HTTPS; plaintext gets nothing, and Artery runs tls-tcp. */
  @Test
  @Order(1)
  void theNodesServeTlsFromTheLocalCa() throws Exception {
    assertTrue(cluster.clientTls().enabled());
    for (int i = 1; i <= 3; i++) {
      assertTrue(cluster.ready(i), "node " + i + " answers /ready over HTTPS trusting the local CA only");
      int node = i;
      assertThrows(java.io.IOException.class, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://" + cluster.management(node) + "/ready")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()), "plaintext HTTP to node " + i);
      assertTrue(Files.readString(cluster.log(i)).contains("Artery tls-tcp"), "node " + i + " remoting over TLS");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"network-partition", "node-kill", "node-restart", "node-pause"})
  void drillPasses(String name) throws Exception {
    var settings = new DrillRun.Settings(cluster.gateway(1), cluster.management(1), cluster.adminToken(),
        cluster.secopsToken(), Duration.ofSeconds(24), 10, 5, reports, 0, cluster);
    Map<String, Object> report = new DrillRun(client, settings, line -> log.info("{}: {}", name, line))
        .run(Drill.named(name));
    assertEquals("PASS", report.get("verdict"), DrillRun.summary(report));
    @SuppressWarnings("unchecked")
    var figures = (Map<String, Object>) report.get("figures");
    assertTrue(((Number) figures.get("attempted")).longValue() >= 200, figures.toString());
    if (name.equals("node-pause")) {
      // a node frozen for 4 s (about the failure detector's limit) is kept: no restart, nobody downed
      assertEquals(false, figures.get("downedWhilePaused"), figures.toString());
      return;
    }
    // the fault was felt by the cluster: the faulted node left the others' view (or, restarted, left it cleanly)
    assertEquals(!name.equals("node-restart"), figures.get("seenUnreachableByOthers"), figures.toString());
  }

  // ---- budget alerts and the webhook outbox across a kill -9 ----

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ALERT_MODEL = "kill-alert-text";
  private static final String ALERT_PROMPT = "the same words every time";
  /** The most a tenant may have: their dispatchers spread over the nodes, so some die with the killed one. */
  private static final int ENDPOINTS = 10;
  private static final List<Integer> THRESHOLDS = List.of(30, 60, 80, 100);

  /**
   * One request the webhook receiver got: the endpoint it was sent to, its headers and body, the threshold the body
   * announces (-1: none), when it came and what it was answered.
   */
  private record Receipt(int endpoint, String webhookId, long timestamp, String signature, String body,
                         int threshold, long atNanos, int answered) {
    boolean delivered() {
      return answered / 100 == 2;
    }

    static int thresholdOf(String body) {
      try {
        return JSON.readTree(body).path("data").path("thresholdPercent").asInt(-1);
      } catch (java.io.IOException e) {
        return -1;
      }
    }
  }

  /**
   * Budget alerts of a tenant whose entity lives on a node killed with SIGKILL, to ten endpoints of a real receiver
   * that answers 500 until the kill and 204 after it. Each request costs a tenth of the budget; thresholds 30, 60,
   * 80, 100 %. The 30 % alert is pending in the outbox at the kill (refused at least once by every endpoint), the
   * 60 % one is crossed by the last request answered before it, 80 % on the node that took the tenant over, 100 %
   * after the killed node was started again. Every threshold reaches every endpoint under one webhook id (the same
   * id again is allowed, a second id is not), with the same body each time and a valid signature, and the admin API
   * lists one delivered delivery per threshold and endpoint. Runs after the drills: it kills a node of its own.
   */
  @Test
  @Order(Integer.MAX_VALUE)
  void budgetAlertsReachEveryEndpointOnceEachAcrossAKill() throws Exception {
    List<Receipt> receipts = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean accepting = new AtomicBoolean(false);
    // on the bridge: the nodes, each in its own namespace, reach the test's JVM there (as they reach Cassandra)
    HttpServer receiver = HttpServer.create(new InetSocketAddress(cluster.layout().bridgeAddress(), 0), 64);
    ExecutorService receiverThreads = Executors.newCachedThreadPool();
    receiver.setExecutor(receiverThreads);
    receiver.createContext("/hook/", ex -> {
      long at = System.nanoTime();
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      var headers = ex.getRequestHeaders();
      int answer = accepting.get() ? 204 : 500;
      receipts.add(new Receipt(Integer.parseInt(ex.getRequestURI().getPath().substring("/hook/".length())),
          headers.getFirst("webhook-id"), Long.parseLong(headers.getFirst("webhook-timestamp")),
          headers.getFirst("webhook-signature"), body, Receipt.thresholdOf(body), at, answer));
      ex.sendResponseHeaders(answer, -1);
      ex.close();
    });
    receiver.start();
    InferenceServiceClient gateway = null;
    try {
      TestProbe<Object> probe = TestProbe.create(client);
      AdminClient anyNode = new AdminClient(IntStream.rangeClosed(1, cluster.size()).mapToObj(cluster::management)
          .toList(), cluster.adminToken(), cluster.secopsToken(), cluster.clientTls());
      anyNode.adminIfAny("POST", "/admin/models", "{\"name\": \"" + ALERT_MODEL + "\", \"description\": \"alerts\"}");
      anyNode.adminIfAny("POST", "/admin/models/" + ALERT_MODEL + "/versions",
          "{\"version\": \"v1\", \"runtime\": \"echo-text\", \"billingUnit\": \"TOKENS\"}");
      // the node killed runs the budget-alert projection and hosts the tenant's entity (tenants are created until
      // one lands there); requests and admin calls go to the others
      int victim = projectionNode();
      String found = null;
      for (int k = 0; k < 30 && found == null; k++) {
        String candidate = "alerted-kill-" + k;
        anyNode.admin("POST", "/admin/tenants", """
            {"id": "%s", "name": "budget alerts across a kill", "plan": {"requestsPerMinute": 10000,
             "tokensPerMinute": 10000000, "monthlyBudgetUsd": "1000", "maxConcurrentRequests": 4}}"""
            .formatted(candidate));
        if (probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> hostOf(anyNode, candidate))
            == victim) {
          found = candidate;
        }
      }
      assertTrue(found != null, "no candidate tenant landed on node " + victim);
      String tenant = found;
      String key = anyNode.admin("POST", "/admin/tenants/" + tenant + "/keys", null).get("apiKey").asText();
      List<String> survivors = IntStream.rangeClosed(1, cluster.size()).filter(i -> i != victim)
          .mapToObj(cluster::management).toList();
      AdminClient admin = new AdminClient(survivors, cluster.adminToken(), cluster.secopsToken(), cluster.clientTls());
      String[] hostPort = cluster.gateway(victim == 1 ? 2 : 1).split(":");
      gateway = InferenceServiceClient.create(cluster.clientTls().grpc(GrpcClientSettings.connectToServiceAt(
          hostPort[0], Integer.parseInt(hostPort[1]), client).withDeadline(Duration.ofSeconds(5))), client);
      InferenceServiceClient requests = gateway;
      log.info("budget alerts: tenant {} lives on node {}, which runs the budget-alert projection and will be killed",
          tenant, victim);

      long charge = Money.parseUsd(infer(probe, requests, key, 1, Duration.ofSeconds(60)).getUsage().getChargeUsd());
      assertTrue(charge > 0, "a request is charged");
      admin.admin("PUT", "/admin/tenants/" + tenant + "/plan", """
          {"requestsPerMinute": 10000, "tokensPerMinute": 10000000, "monthlyBudgetUsd": "%s",
           "maxConcurrentRequests": 4}""".formatted(Money.format(charge * 10)));
      JsonNode alerts = admin.admin("PUT", "/admin/tenants/" + tenant + "/budget-alerts",
          "{\"thresholds\": [30, 60, 80, 100]}");
      assertEquals("[30,60,80,100]", alerts.get("thresholds").toString());
      String month = alerts.get("month").asText();
      // the documented ids: the event's, and the webhook id derived from it
      Map<Integer, String> eventIds = new LinkedHashMap<>();
      Map<Integer, String> ids = new LinkedHashMap<>();
      for (int p : THRESHOLDS) {
        eventIds.put(p, "budget.threshold_crossed:" + tenant + ":" + month + ":" + p);
        ids.put(p, WebhookSignature.webhookId(eventIds.get(p)));
      }
      String hooks = "http://" + cluster.layout().bridgeAddress() + ":" + receiver.getAddress().getPort() + "/hook/";
      List<String> endpoints = new ArrayList<>();
      List<String> secrets = new ArrayList<>();
      for (int e = 0; e < ENDPOINTS; e++) {
        JsonNode created = admin.admin("POST", "/admin/tenants/" + tenant + "/webhooks",
            "{\"url\": \"" + hooks + e + "\", \"eventTypes\": [\"budget.threshold_crossed\"]}");
        endpoints.add(created.get("endpoint").get("id").asText());
        secrets.add(created.get("secret").asText());
      }

      // 30 %: crossed by the third request, refused by every endpoint, so pending in the outbox
      infer(probe, requests, key, 2, Duration.ofSeconds(30));
      infer(probe, requests, key, 3, Duration.ofSeconds(30));
      probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
        for (int e = 0; e < ENDPOINTS; e++) {
          int endpoint = e;
          assertTrue(receipts(receipts).stream().anyMatch(r -> r.endpoint() == endpoint && !r.delivered()
              && r.threshold() == 30), "endpoint " + e + " refused the 30 % alert");
        }
        return null;
      });
      // which node's dispatcher tried each endpoint: those on the victim die with it
      Map<Integer, Integer> triedBy = new HashMap<>();
      probe.awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> {
        for (int e = 0; e < ENDPOINTS; e++) {
          JsonNode d = deliveryOf(admin, tenant, endpoints.get(e), eventIds.get(30));
          assertEquals("pending", d.get("status").asText(), d.toString());
          assertEquals(500, d.get("attemptLog").get(0).get("status").asInt(), d.toString());
          triedBy.put(e, cluster.nodeAt("pekko://" + d.get("attemptLog").get(0).get("node").asText()).orElseThrow());
        }
        return null;
      });

      // 60 %: crossed by the sixth request; the node is killed as soon as it is answered
      for (int n = 4; n <= 6; n++) {
        infer(probe, requests, key, n, Duration.ofSeconds(30));
      }
      long killedAt = System.nanoTime();
      cluster.kill(victim);
      accepting.set(true);
      log.info("budget alerts: killed node {} with SIGKILL right after the 60 % crossing was answered", victim);

      // 80 %: on the node that took the tenant over, once the killed one is downed
      infer(probe, requests, key, 7, Duration.ofSeconds(90));
      long recoveredAt = System.nanoTime();
      int newHost = probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> hostOf(admin, tenant));
      assertNotEquals(victim, newHost, "the tenant recovered on another node");
      infer(probe, requests, key, 8, Duration.ofSeconds(30));
      probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(100), () -> {
        assertAllDelivered(receipts, List.of(30, 60, 80));
        return null;
      });

      // 100 %: after the killed node is back in the cluster (shards and dispatchers may move back to it)
      cluster.start(victim);
      cluster.awaitReady(victim, Duration.ofMinutes(3));
      cluster.awaitAllUp(Duration.ofMinutes(2));
      infer(probe, requests, key, 9, Duration.ofSeconds(60));
      infer(probe, requests, key, 10, Duration.ofSeconds(60));
      probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(100), () -> {
        assertAllDelivered(receipts, THRESHOLDS);
        return null;
      });
      assertEquals("[30,60,80,100]", admin.admin("GET", "/admin/tenants/" + tenant + "/budget-alerts", null)
          .get("crossed").toString());

      // every request the receiver got: per endpoint one webhook id per threshold (the same one again is allowed, a
      // second is not), the documented one; one body per event; a valid signature
      List<Receipt> all = receipts(receipts);
      Map<String, Set<String>> idsSent = new TreeMap<>();
      all.forEach(r -> idsSent.computeIfAbsent("endpoint " + r.endpoint() + ", " + r.threshold() + " %",
          k -> new TreeSet<>()).add(r.webhookId()));
      idsSent.forEach((sent, webhookIds) -> assertEquals(1, webhookIds.size(), sent + ": several ids " + webhookIds));
      Map<String, String> bodyOf = new HashMap<>();
      Map<Integer, Integer> crossingRequest = Map.of(30, 3, 60, 6, 80, 8, 100, 10);
      for (Receipt r : all) {
        JsonNode data = JSON.readTree(r.body()).get("data");
        int threshold = data.get("thresholdPercent").asInt();
        assertEquals(ids.get(threshold), r.webhookId(), "the documented webhook id of the threshold: " + r);
        assertEquals(tenant, data.get("tenantId").asText(), r.toString());
        assertEquals("kill-alert-" + crossingRequest.get(threshold), data.get("requestId").asText(),
            "crossed by the request that brought the spend there: " + r);
        assertEquals(bodyOf.computeIfAbsent(r.webhookId(), id -> r.body()), r.body(), "one body per event");
        assertTrue(WebhookSignature.verify(secrets.get(r.endpoint()), r.webhookId(), r.timestamp(), r.body(),
            r.signature()), "signed with endpoint " + r.endpoint() + "'s secret: " + r);
      }
      // the admin API agrees: per endpoint, one delivered delivery per threshold, under its id
      probe.awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(200), () -> {
        for (String endpoint : endpoints) {
          JsonNode list = admin.admin("GET", "/admin/tenants/" + tenant + "/webhooks/" + endpoint + "/deliveries",
              null);
          assertEquals(THRESHOLDS.size(), list.size(), list.toString());
          Map<String, String> listed = new TreeMap<>();
          for (JsonNode d : list) {
            assertEquals("delivered", d.get("status").asText(), d.toString());
            JsonNode attempts = d.get("attemptLog");
            assertEquals(204, attempts.get(attempts.size() - 1).get("status").asInt(), d.toString());
            listed.put(d.get("eventId").asText(), d.get("webhookId").asText());
          }
          Map<String, String> expected = new TreeMap<>();
          THRESHOLDS.forEach(p -> expected.put(eventIds.get(p), ids.get(p)));
          assertEquals(expected, listed, "endpoint " + endpoint);
        }
        return null;
      });

      long delivered = all.stream().filter(Receipt::delivered).count();
      long distinct = all.stream().filter(Receipt::delivered).map(r -> r.endpoint() + "/" + r.threshold())
          .distinct().count();
      long onVictim = triedBy.values().stream().filter(n -> n == victim).count();
      log.info("budget alerts across kill -9 of node {}: {} events to {} endpoints, {} deliveries, {} duplicates by "
              + "id, {} attempts refused before the kill; 30 % (pending at the kill, {} of its endpoints dispatched "
              + "by the killed node) delivered {}-{} ms after the kill ({} ms for those), 60 % (crossed just before "
              + "the kill, {} attempts before it) delivered {}-{} ms after the kill; tenant answering again {} ms "
              + "after the kill", victim, ids.size(), ENDPOINTS, delivered, delivered - distinct,
          all.stream().filter(r -> !r.delivered()).count(), onVictim,
          sinceKill(all, 30, killedAt, e -> true, false), sinceKill(all, 30, killedAt, e -> true, true),
          sinceKill(all, 30, killedAt, e -> triedBy.get(e) == victim, true),
          all.stream().filter(r -> r.threshold() == 60 && r.atNanos() < killedAt).count(),
          sinceKill(all, 60, killedAt, e -> true, false), sinceKill(all, 60, killedAt, e -> true, true),
          (recoveredAt - killedAt) / 1_000_000);
      assertEquals(ids.size() * ENDPOINTS, distinct, "each threshold delivered to each endpoint");
    } finally {
      if (gateway != null) {
        gateway.close();
      }
      receiver.stop(0);
      receiverThreads.shutdownNow();
    }
  }

  /**
   * The node running the budget-alert projection (a sharded daemon process of one instance): the one whose shard
   * region holds its shard, as the nodes' cluster management routes report.
   */
  private static int projectionNode() throws Exception {
    HttpClient http = cluster.clientTls().httpClient().connectTimeout(Duration.ofSeconds(2)).build();
    for (int i = 1; i <= cluster.size(); i++) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(cluster.clientTls().url(
          cluster.management(i), "/cluster/shards/sharded-daemon-process-" + BudgetAlertProjection.NAME)))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), "node " + i + ": " + r.body());
      if (!JSON.readTree(r.body()).path("regions").isEmpty()) {
        return i;
      }
    }
    throw new AssertionError("no node runs the budget-alert projection");
  }

  /** The node hosting the tenant's entity (fails while no node does). */
  private static int hostOf(AdminClient admin, String tenant) {
    JsonNode node = admin.admin("GET", "/admin/tenants/" + tenant + "/location", null).get("node");
    assertFalse(node == null || node.isNull(), "the tenant's entity is started on some node");
    return cluster.nodeAt(node.asText()).orElseThrow();
  }

  /** Request {@code n} of the alerted tenant, retried with its request id (billed once) until answered. */
  private static InferResponse infer(TestProbe<Object> probe, InferenceServiceClient gateway, String key, int n,
                                     Duration max) {
    return probe.awaitAssert(max, Duration.ofMillis(250), () -> gateway.infer()
        .addHeader("authorization", "Bearer " + key)
        .invoke(InferRequest.newBuilder().setModel(ALERT_MODEL).setRequestId("kill-alert-" + n)
            .setText(TextInput.newBuilder().setPrompt(ALERT_PROMPT)).build())
        .toCompletableFuture().join());
  }

  private static List<Receipt> receipts(List<Receipt> receipts) {
    synchronized (receipts) {
      return List.copyOf(receipts);
    }
  }

  /** Each of {@code thresholds} reached every endpoint (answered 2xx). */
  private static void assertAllDelivered(List<Receipt> receipts, List<Integer> thresholds) {
    List<Receipt> all = receipts(receipts);
    for (int e = 0; e < ENDPOINTS; e++) {
      int endpoint = e;
      Set<Integer> delivered = new TreeSet<>();
      all.stream().filter(r -> r.endpoint() == endpoint && r.delivered()).forEach(r -> delivered.add(r.threshold()));
      assertTrue(delivered.containsAll(thresholds), "endpoint " + e + " got " + delivered + ", not all of "
          + thresholds);
    }
  }

  /** The endpoint's delivery of the event, as the admin API lists it. */
  private static JsonNode deliveryOf(AdminClient admin, String tenant, String endpoint, String eventId) {
    for (JsonNode d : admin.admin("GET", "/admin/tenants/" + tenant + "/webhooks/" + endpoint + "/deliveries", null)) {
      if (d.get("eventId").asText().equals(eventId)) {
        return d;
      }
    }
    throw new AssertionError("endpoint " + endpoint + " lists no delivery of " + eventId);
  }

  /**
   * Milliseconds from the kill until the threshold's first delivery, over the endpoints {@code which} picks: the
   * latest ({@code latest}) or the earliest; -1 if none was picked.
   */
  private static long sinceKill(List<Receipt> all, int threshold, long killedAt, IntPredicate which, boolean latest) {
    Map<Integer, Long> first = new HashMap<>();
    for (Receipt r : all) {
      if (r.delivered() && r.threshold() == threshold && which.test(r.endpoint())) {
        first.merge(r.endpoint(), r.atNanos(), Math::min);
      }
    }
    return first.values().stream().mapToLong(at -> (at - killedAt) / 1_000_000)
        .reduce(latest ? Math::max : Math::min).orElse(-1);
  }
}
