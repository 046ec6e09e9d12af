package aimos.chaos.drill;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import aimos.chaos.cluster.LocalCluster;
import aimos.chaos.stats.Latencies;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * Runs one drill against a live cluster: open-loop load on a victim and a bystander model, with client retries that
 * reuse request ids; the fault injected a quarter of the way in; then the invariants judged from what the clients
 * saw and what the ledger holds: every acknowledged request billed exactly once, nothing billed that was never
 * sent, the bystander untouched, the victim recovered. The verdict and its figures go to a JSON report.
 */
public final class DrillRun {
  public static final String VICTIM = "drill-victim";
  public static final String BYSTANDER = "drill-bystander";
  /** Each drill tenant's GPU/CPU quota: none may ever hold more worker leases than this. */
  static final int WORKER_QUOTA = 64;
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * Where and how hard to drill. {@code cassandraPid} is the database process a Cassandra drill may pause; 0 when
   * this runner does not control it. {@code cluster} is the local cluster whose node processes node drills act on
   * (null when there is none); with it, load and admin calls go to all its nodes.
   */
  public record Settings(String target, String management, String adminToken, String secopsToken, Duration duration,
                         int rate, long seed, Path reportDir, long cassandraPid, LocalCluster cluster) {
    @Override
    public String toString() {
      return "Settings[target=" + target + ", management=" + management + ", adminToken=***, secopsToken=***, "
          + "duration=" + duration + ", rate=" + rate + ", seed=" + seed + "]";
    }

    public Settings {
      if (rate < 1 || rate > 2000) {
        throw new IllegalArgumentException("--rate must be 1-2000 requests per second, was " + rate);
      }
      if (duration.toSeconds() < 4) {
        throw new IllegalArgumentException("--duration must be at least 4s, was " + duration);
      }
    }
  }

  /** Drill tenants: the node fault hits the node of the first; the others show what its neighbours saw. */
  static final int TENANTS = 3;

  /**
   * One request as the client saw it; acknowledged means the client got an answer. {@code startNanos} is when the
   * open-loop schedule meant to send it, {@code latencyNanos} from then to its final answer (all attempts).
   */
  record Sent(String id, String tenant, String model, long startNanos, long latencyNanos, int attempts,
              String outcome, String detail) {
    boolean acknowledged() {
      return outcome.equals("OK");
    }
  }

  /** One attempt of a request, as its tenant's availability is judged from them. */
  record Attempt(String tenant, long startNanos, long endNanos, boolean ok, String detail) {
    Attempt(String tenant, long startNanos, long endNanos, boolean ok) {
      this(tenant, startNanos, endNanos, ok, "");
    }
  }

  /** The client's retry policy, as the OpenAI SDKs have it: exponential backoff with jitter, a time budget. */
  static final class Backoff {
    static final Duration BUDGET = Duration.ofSeconds(20);
    static final Duration PER_ATTEMPT = Duration.ofSeconds(5);
    static final long INITIAL_MILLIS = 500;
    static final long MAX_MILLIS = 8000;

    private Backoff() {}

    /** The delay before attempt {@code next} (2, 3, ...): 0.5 s doubling up to 8 s, less up to 25% jitter. */
    static long delayMillis(int next, double random) {
      long base = Math.min(MAX_MILLIS, INITIAL_MILLIS << Math.min(20, next - 2));
      return (long) (base * (1 - 0.25 * random));
    }
  }

  private final ActorSystem<?> system;
  private final Settings settings;
  private final Consumer<String> progress;
  private final aimos.chaos.tls.ClientTls tls;

  /** A drill that reaches a local cluster as the cluster was started (TLS or not), other nodes in plaintext. */
  public DrillRun(ActorSystem<?> system, Settings settings, Consumer<String> progress) {
    this(system, settings, progress, settings.cluster() != null ? settings.cluster().clientTls()
        : aimos.chaos.tls.ClientTls.PLAINTEXT);
  }

  /** A drill whose gRPC and management calls use {@code tls}. */
  public DrillRun(ActorSystem<?> system, Settings settings, Consumer<String> progress, aimos.chaos.tls.ClientTls tls) {
    this.system = system;
    this.settings = settings;
    this.progress = progress;
    this.tls = tls;
  }

  public Map<String, Object> run(Drill drill) throws Exception {
    LocalCluster cluster = settings.cluster();
    if (drill.needsCluster() && cluster == null) {
      throw new IllegalArgumentException("drill " + drill.name() + " acts on node processes: run it with 'bin/aimos "
          + "chaos run " + drill.name() + "' against a 'bin/aimos cluster up' cluster");
    }
    if (drill.fault().equals(Drill.PARTITION) && !cluster.layout().netns()) {
      throw new IllegalArgumentException("drill " + drill.name() + " cuts links between nodes in network namespaces: "
          + "start the cluster with 'bin/aimos cluster up --netns' (as root)");
    }
    if (drill.needsCluster() && cluster.size() < 3) {
      throw new IllegalArgumentException("drill " + drill.name() + " needs a majority to survive: at least 3 nodes "
          + "('bin/aimos cluster up --nodes 3')");
    }
    if (drill.fault().equals(Drill.SANDBOX_ESCAPE)) {
      // no load: each node runs the hostile model in a sandbox of its own, behind its secops route
      List<String> nodes = new ArrayList<>(List.of(settings.management()));
      if (cluster != null) {
        nodes.clear();
        for (int i = 1; i <= cluster.size(); i++) {
          if (cluster.isAlive(i)) {
            nodes.add(cluster.management(i));
          }
        }
      }
      return SandboxEscape.overApi(drill, nodes, settings.secopsToken(), tls, settings.reportDir(), progress);
    }
    List<String> targets = new ArrayList<>(List.of(settings.target()));
    List<String> managements = new ArrayList<>(List.of(settings.management()));
    if (cluster != null) {
      targets.clear();
      for (int i = 1; i <= cluster.size(); i++) {
        targets.add(cluster.gateway(i));
        if (!managements.contains(cluster.management(i))) {
          managements.add(cluster.management(i));
        }
      }
    }
    AdminClient admin = new AdminClient(managements, settings.adminToken(), settings.secopsToken(), tls);
    String runId = drill.name() + "-" + Long.toString(System.currentTimeMillis(), 36);
    String prefix = ("drill-" + Long.toString(System.nanoTime(), 36)).substring(0, 14);
    List<String> tenants = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    for (int t = 0; t < TENANTS; t++) {
      tenants.add(prefix + "-" + t);
    }
    String tenant = tenants.get(0);
    progress.accept("setting up tenants " + String.join(", ", tenants) + " and models " + VICTIM + ", " + BYSTANDER);
    for (String t : tenants) {
      admin.admin("POST", "/admin/tenants", """
          {"id": "%s", "name": "drill %s", "plan": {"requestsPerMinute": 10000000, "tokensPerMinute": 1000000000,
           "monthlyBudgetUsd": "1000000", "maxConcurrentRequests": 10000, "maxWorkerLeases": %d}}"""
          .formatted(t, drill.name(), WORKER_QUOTA));
      keys.add(admin.admin("POST", "/admin/tenants/" + t + "/keys", null).get("apiKey").asText());
    }
    for (String model : List.of(VICTIM, BYSTANDER)) {
      admin.adminIfAny("POST", "/admin/models", "{\"name\": \"" + model + "\", \"description\": \"drills\"}");
      admin.adminIfAny("POST", "/admin/models/" + model + "/versions",
          "{\"version\": \"v1\", \"runtime\": \"echo-text\", \"billingUnit\": \"TOKENS\"}");
    }
    List<InferenceServiceClient> clients = new ArrayList<>();
    for (String t : targets) {
      String[] hostPort = t.split(":");
      clients.add(InferenceServiceClient.create(tls.grpc(GrpcClientSettings.connectToServiceAt(hostPort[0],
          Integer.parseInt(hostPort[1]), system).withDeadline(Backoff.PER_ATTEMPT)), system));
    }
    Gateways<InferenceServiceClient> gateways = new Gateways<>(clients);
    for (String model : List.of(VICTIM, BYSTANDER)) {
      for (int c = 0; c < clients.size(); c++) {
        for (int t = 0; t < TENANTS; t++) {
          awaitServing(clients.get(c), keys.get(t), model, runId + "-ready-" + model + "-" + c + "-" + t);
        }
      }
    }

    Map<String, Sent> sent = new ConcurrentHashMap<>();
    List<Attempt> attempts = Collections.synchronizedList(new ArrayList<>());
    Random random = new Random(settings.seed());
    ScheduledExecutorService ticks = Executors.newSingleThreadScheduledExecutor();
    List<CompletableFuture<Void>> inFlight = Collections.synchronizedList(new ArrayList<>());
    long start = System.nanoTime();
    long total = settings.rate() * settings.duration().toSeconds();
    long faultAt = start + settings.duration().toNanos() / 4;
    long[] faultNanos = {0};
    long[] healNanos = {0};
    if (drill.fault().equals(Drill.CASSANDRA_PAUSE) && settings.cassandraPid() <= 0) {
      throw new IllegalArgumentException("drill " + drill.name() + " pauses the Cassandra process: run it where its pid "
          + "is known (bin/aimos chaos run against 'bin/aimos cluster up', or --cassandra-pid)");
    }
    NodeFault nodeFault = null;
    CompletableFuture<Void> nodeFaultDone = CompletableFuture.completedFuture(null);
    if (drill.needsCluster()) {
      nodeFault = new NodeFault(drill, cluster, victimNode(admin, cluster, tenant), progress);
      nodeFaultDone = nodeFault.start(faultAt, Duration.ofMillis(Math.min(drill.delayMs(),
          settings.duration().toMillis() / 2)));
    }
    long periodNanos = 1_000_000_000L / settings.rate();
    long[] n = {0};
    boolean[] workerDropped = {false};
    ticks.scheduleAtFixedRate(() -> {
      if (n[0] >= total) {
        return;
      }
      long i = n[0]++;
      String model = random.nextBoolean() ? VICTIM : BYSTANDER;
      // every tenant through every gateway: request i goes to gateway i mod n first
      int t = (int) ((i / clients.size()) % TENANTS);
      // the schedule's time for this request: a late tick does not shorten its latency (coordinated omission)
      long intended = start + i * periodNanos;
      inFlight.add(send(gateways, (int) i, tenants.get(t), keys.get(t), model, runId + "-" + i, intended, sent,
          attempts, random.nextLong()));
      if (faultNanos[0] == 0 && System.nanoTime() >= faultAt) {
        faultNanos[0] = System.nanoTime();
        if (drill.needsCluster()) {
          // NodeFault acts on its own thread
        } else if (drill.fault().equals(Drill.CASSANDRA_PAUSE)) {
          LocalCluster.signal("STOP", settings.cassandraPid());
          progress.accept("Cassandra (pid " + settings.cassandraPid() + ") frozen for " + drill.delayMs() + " ms");
        } else {
          CompletableFuture.runAsync(() -> admin.secops("POST", "/admin/sandboxes/" + VICTIM + "/v1/faults",
              "{\"fault\": \"%s\", \"count\": %d, \"delayMs\": %d}".formatted(drill.fault(), drill.count(),
                  drill.delayMs())));
          progress.accept("injected " + drill.fault() + " x" + drill.count() + " into " + VICTIM);
        }
      }
      if (drill.fault().equals(Drill.CASSANDRA_PAUSE) && faultNanos[0] != 0 && healNanos[0] == 0
          && System.nanoTime() - faultNanos[0] >= drill.delayMs() * 1_000_000L) {
        healNanos[0] = System.nanoTime();
        LocalCluster.signal("CONT", settings.cassandraPid());
        progress.accept("Cassandra resumed");
      }
      if (drill.fault().equals("SILENT_WORKER") && faultNanos[0] != 0 && !workerDropped[0] && i % 5 == 0) {
        CompletableFuture.runAsync(() -> {
          if (admin.admin("GET", "/admin/models/" + VICTIM + "/leases", null).get("workers").asInt() == 0) {
            workerDropped[0] = true;
            progress.accept("the silent worker was dropped and its leases reclaimed");
          }
        });
      }
      if (i > 0 && i % settings.rate() == 0) {
        progress.accept(String.format("%3ds  %d sent, %d answered", i / settings.rate(), i,
            sent.values().stream().filter(Sent::acknowledged).count()));
      }
    }, 0, periodNanos, TimeUnit.NANOSECONDS);
    while (n[0] < total) {
      Thread.sleep(100);
    }
    ticks.shutdown();
    if (drill.fault().equals(Drill.CASSANDRA_PAUSE) && healNanos[0] == 0) {
      LocalCluster.signal("CONT", settings.cassandraPid());
      healNanos[0] = System.nanoTime();
    }
    CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).orTimeout(60, TimeUnit.SECONDS)
        .exceptionally(e -> null).join();
    progress.accept("load done: " + sent.size() + " requests");
    boolean servesAfterRecovery = true;
    if (nodeFault != null) {
      nodeFaultDone.orTimeout(8, TimeUnit.MINUTES).exceptionally(e -> null).join();
      if (nodeFault.faultNanos != 0) {
        faultNanos[0] = nodeFault.faultNanos;
        healNanos[0] = nodeFault.healNanos;
      }
      // after recovery every gateway must serve again, first time or after a retry; over new connections, since
      // a channel to a node that was down may still be in its reconnect backoff
      List<CompletableFuture<Void>> after = new ArrayList<>();
      // these come after the load (and after the cluster is whole again): not part of any tenant's availability
      List<Attempt> afterAttempts = Collections.synchronizedList(new ArrayList<>());
      for (int c = 0; c < targets.size(); c++) {
        String[] hostPort = targets.get(c).split(":");
        InferenceServiceClient fresh = InferenceServiceClient.create(tls.grpc(GrpcClientSettings.connectToServiceAt(
            hostPort[0], Integer.parseInt(hostPort[1]), system).withDeadline(Backoff.PER_ATTEMPT)), system);
        Gateways<InferenceServiceClient> only = new Gateways<>(List.of(fresh));
        for (int k = 0; k < 5; k++) {
          int t = k % TENANTS;
          after.add(send(only, 0, tenants.get(t), keys.get(t), k % 2 == 0 ? VICTIM : BYSTANDER,
              runId + "-after-" + c + "-" + k, System.nanoTime(), sent, afterAttempts, k));
        }
        clients.add(fresh);
      }
      CompletableFuture.allOf(after.toArray(CompletableFuture[]::new)).orTimeout(60, TimeUnit.SECONDS)
          .exceptionally(e -> null).join();
      servesAfterRecovery = sent.values().stream().filter(x -> x.id().contains("-after-")).count() == after.size()
          && sent.values().stream().filter(x -> x.id().contains("-after-")).allMatch(Sent::acknowledged);
    }
    clients.forEach(InferenceServiceClient::close);
    progress.accept("waiting for the ledger");

    Map<String, Integer> billed = new HashMap<>();
    long remainingMissing = 0;
    long billedTwiceByReconciliation = 0;
    int peakLeases = 0;
    for (String t : tenants) {
      billed.putAll(awaitLedger(admin, t, sent));
      JsonNode reconciliation = admin.admin("POST", "/admin/reconciliation?tenant=" + t + "&repair=false", null);
      remainingMissing += reconciliation.get("remainingMissing").asLong();
      billedTwiceByReconciliation += reconciliation.get("billedTwice").asLong();
      for (String model : List.of(VICTIM, BYSTANDER)) {
        JsonNode peak = admin.admin("GET", "/admin/models/" + model + "/leases", null).get("peakLeasesByTenant")
            .get(t);
        peakLeases = Math.max(peakLeases, peak == null ? 0 : peak.asInt());
      }
    }
    Map<String, Object> report = judge(drill, tenants, sent, attempts, billed, remainingMissing,
        billedTwiceByReconciliation, start, faultNanos[0], healNanos[0]);
    @SuppressWarnings("unchecked")
    Map<String, Boolean> checks = (Map<String, Boolean>) report.get("checks");
    checks.put("no tenant ever held more than its " + WORKER_QUOTA + " worker leases", peakLeases <= WORKER_QUOTA);
    if (drill.fault().equals("SILENT_WORKER")) {
      checks.put("the silent worker was dropped and its leases reclaimed", workerDropped[0]);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> figures = (Map<String, Object>) report.get("figures");
    if (nodeFault != null) {
      checks.putAll(nodeFault.checks());
      checks.put("every node serves after recovery", servesAfterRecovery);
      figures.putAll(nodeFault.figures());
    }
    if (cluster != null) {
      boolean oneWriter = true;
      Map<String, Integer> writersByTenant = new LinkedHashMap<>();
      for (String t : tenants) {
        JsonNode writers = admin.admin("GET", "/admin/tenants/" + t + "/journal-writers", null);
        oneWriter &= !writers.get("interleaved").asBoolean() && writers.get("missingSequenceNrs").asLong() == 0;
        writersByTenant.put(t, writers.get("writers").asInt());
      }
      checks.put("one writer at a time: no tenant's journal has interleaved writers or gaps", oneWriter);
      figures.put("tenantJournalWriters", writersByTenant);
    }
    report.put("verdict", checks.values().stream().allMatch(b -> b) ? "PASS" : "FAIL");
    figures.put("peakWorkerLeases", peakLeases);
    Files.createDirectories(settings.reportDir());
    Path file = settings.reportDir().resolve(runId + ".json");
    JSON.writeValue(file.toFile(), report);
    report.put("reportFile", file.toString());
    return report;
  }

  private void awaitServing(InferenceServiceClient client, String key, String model, String id) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (true) {
      try {
        infer(client, key, model, id).toCompletableFuture().join();
        return;
      } catch (CompletionException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("model " + model + " does not serve: " + e.getCause());
        }
        Thread.sleep(500);
      }
    }
  }

  /** One attempt, within the client's {@link Backoff#PER_ATTEMPT} deadline. */
  private static java.util.concurrent.CompletionStage<aimos.api.v1.InferResponse> infer(
      InferenceServiceClient client, String key, String model, String id) {
    return client.infer().addHeader("authorization", "Bearer " + key)
        .invoke(InferRequest.newBuilder().setModel(model).setRequestId(id)
            .setText(TextInput.newBuilder().setPrompt("drill request " + id)).build());
  }

  /** The node hosting the drill tenant's entity, where a node fault hurts most; the last node if unknown. */
  private int victimNode(AdminClient admin, LocalCluster cluster, String tenant) {
    JsonNode node = admin.admin("GET", "/admin/tenants/" + tenant + "/location", null).get("node");
    int victim = node == null || node.isNull() ? cluster.size() : cluster.nodeAt(node.asText()).orElse(cluster.size());
    progress.accept("tenant " + tenant + " lives on node " + victim + "; the fault hits that node");
    return victim;
  }

  /**
   * Sends request {@code i} to gateway {@code i mod n}; an outcome a client cannot know was not billed is retried
   * with the same request id, each attempt to the next gateway, after the {@link Backoff} delay, while the request's
   * {@link Backoff#BUDGET} lasts.
   */
  private CompletableFuture<Void> send(Gateways<InferenceServiceClient> gateways, int i, String tenant, String key,
                                       String model, String id, long intendedNanos, Map<String, Sent> sent,
                                       List<Attempt> attempts, long seed) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    attempt(gateways, i, tenant, key, model, id, 1, intendedNanos, sent, attempts, new Random(seed), done);
    return done;
  }

  private static final Set<Status.Code> RETRIED = Set.of(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED,
      Status.Code.INTERNAL, Status.Code.UNKNOWN, Status.Code.ABORTED);

  private void attempt(Gateways<InferenceServiceClient> gateways, int i, String tenant, String key, String model,
                       String id, int attempt, long t0, Map<String, Sent> sent, List<Attempt> attempts,
                       Random jitter, CompletableFuture<Void> done) {
    long a0 = System.nanoTime();
    int gateway = gateways.pick(i + attempt - 1, a0);
    infer(gateways.member(gateway), key, model, id)
        .whenComplete((r, err) -> {
          long now = System.nanoTime();
          if (err != null && refusedConnection(err)) {
            gateways.refused(gateway, now);
          }
          attempts.add(new Attempt(tenant, a0, now, err == null, err == null ? ""
              : String.valueOf(unwrapStatus(err).getDescription())));
          String outcome = err == null ? "OK" : statusOf(err).name();
          // ABORTED: the first attempt of this request id is still being served; a retry gets its result
          long delay = Backoff.delayMillis(attempt + 1, jitter.nextDouble());
          boolean retry = err != null && RETRIED.contains(statusOf(err))
              && now + delay * 1_000_000L - t0 < Backoff.BUDGET.toNanos();
          if (retry) {
            CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS).execute(() -> attempt(gateways, i, tenant,
                key, model, id, attempt + 1, t0, sent, attempts, jitter, done));
          } else {
            sent.put(id, new Sent(id, tenant, model, t0, now - t0, attempt, outcome, err == null ? ""
                : String.valueOf(unwrapStatus(err).getDescription())));
            done.complete(null);
          }
        });
  }

  /** No gateway answered: the connection was refused or broke (the node is down or restarting). */
  private static boolean refusedConnection(Throwable err) {
    Status status = unwrapStatus(err);
    return status.getCode() == Status.Code.UNAVAILABLE && status.getCause() instanceof java.io.IOException;
  }

  /**
   * Which gateway an attempt goes to, as a load balancer in front of the nodes picks it: each in turn, skipping for
   * {@link #EJECTED} one that refused a connection (a passive health check), unless every one did. A set knows only
   * its own members, so a pick is always one of them and one set's refusals never steer another's attempts.
   */
  static final class Gateways<C> {
    static final Duration EJECTED = Duration.ofSeconds(5);
    private final List<C> members;
    private final long[] ejectedUntil;

    Gateways(List<C> members) {
      this.members = List.copyOf(members);
      ejectedUntil = new long[this.members.size()];
    }

    /** The index of the member for the {@code turn}-th attempt: member {@code turn mod n}, or the next not ejected. */
    synchronized int pick(int turn, long nowNanos) {
      int preferred = Math.floorMod(turn, ejectedUntil.length);
      for (int k = 0; k < ejectedUntil.length; k++) {
        int g = (preferred + k) % ejectedUntil.length;
        if (ejectedUntil[g] - nowNanos <= 0) {
          return g;
        }
      }
      return preferred;
    }

    C member(int index) {
      return members.get(index);
    }

    synchronized void refused(int index, long nowNanos) {
      ejectedUntil[index] = nowNanos + EJECTED.toNanos();
    }
  }

  private static Status unwrapStatus(Throwable err) {
    Throwable t = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    return t instanceof StatusRuntimeException s ? s.getStatus() : Status.UNKNOWN.withDescription(t.toString());
  }

  private static Status.Code statusOf(Throwable err) {
    Throwable t = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    return t instanceof StatusRuntimeException s ? s.getStatus().getCode() : Status.Code.UNKNOWN;
  }

  /** Billed request ids of a drill tenant with their row counts, once every acknowledged request is in. */
  private Map<String, Integer> awaitLedger(AdminClient admin, String tenant, Map<String, Sent> sent)
      throws InterruptedException {
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    long acked = sent.values().stream().filter(s -> s.acknowledged() && s.tenant().equals(tenant)).count();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    Map<String, Integer> billed = new HashMap<>();
    while (System.nanoTime() < deadline) {
      billed.clear();
      // the ledger comes a page at a time; each page names the next
      String cursor = null;
      do {
        JsonNode page = admin.admin("GET", "/admin/tenants/" + tenant + "/ledger?month=" + month + "&limit=1000"
            + (cursor == null ? "" : "&cursor=" + cursor), null);
        for (JsonNode row : page.get("rows")) {
          billed.merge(row.get("requestId").asText(), 1, Integer::sum);
        }
        cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
      } while (cursor != null);
      long ackedBilled = sent.values().stream().filter(s -> s.acknowledged() && s.tenant().equals(tenant)
          && billed.containsKey(s.id())).count();
      if (ackedBilled >= acked) {
        break;
      }
      Thread.sleep(500);
    }
    return billed;
  }

  private Map<String, Object> judge(Drill drill, List<String> tenants, Map<String, Sent> sent, List<Attempt> attempts,
                                    Map<String, Integer> billedRows, long remainingMissing, long reconciledTwice,
                                    long start, long faultNanos, long healNanos) {
    List<Sent> all = new ArrayList<>(sent.values());
    Set<String> billed = billedRows.keySet().stream().filter(id -> !id.contains("-ready-")).collect(Collectors.toSet());
    List<String> ackedNotBilled = all.stream().filter(s -> s.acknowledged() && !billed.contains(s.id()))
        .map(Sent::id).sorted().toList();
    List<String> billedTwice = billedRows.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey)
        .sorted().toList();
    Set<String> attempted = sent.keySet();
    List<String> billedNeverSent = billed.stream().filter(id -> !attempted.contains(id)).sorted().toList();
    List<Sent> unknown = all.stream().filter(s -> !s.acknowledged()).toList();
    long unknownBilled = unknown.stream().filter(s -> billed.contains(s.id())).count();

    List<Sent> bystander = all.stream().filter(s -> s.model().equals(BYSTANDER)).toList();
    List<Sent> victim = all.stream().filter(s -> s.model().equals(VICTIM)).toList();
    double bystanderSuccess = share(bystander, Sent::acknowledged);
    // before: answered before the fault began; during: sent after it
    double bystanderP99Before = p99(bystander.stream().filter(s -> s.startNanos() + s.latencyNanos() < faultNanos)
        .toList());
    double bystanderP99During = p99(bystander.stream().filter(s -> s.startNanos() >= faultNanos).toList());
    double bound = Math.max(10 * bystanderP99Before, bystanderP99Before + 250);
    double victimSuccessDuring = share(victim.stream().filter(s -> s.startNanos() >= faultNanos).toList(),
        Sent::acknowledged);
    // recovery: from the fault (or, for an outage, from its end) to the last request that still needed a retry
    List<Sent> affected = drill.judgesIsolation() ? victim : all;
    long recoveryFrom = healNanos != 0 ? healNanos : faultNanos;
    long lastFailure = affected.stream().filter(s -> !s.acknowledged() || s.attempts() > 1)
        .mapToLong(s -> s.startNanos() + s.latencyNanos()).max().orElse(recoveryFrom);
    double recoverySeconds = Math.max(0, lastFailure - recoveryFrom) / 1e9;
    // the share answered at the first attempt, among requests sent while the fault lasted (retries hide the rest)
    double successDuringFault = share(all.stream().filter(s -> s.startNanos() >= faultNanos
        && (healNanos == 0 || s.startNanos() < healNanos)).toList(), s -> s.acknowledged() && s.attempts() == 1);
    double overSlo = share(victim.stream().filter(s -> s.startNanos() >= faultNanos).toList(),
        s -> s.acknowledged() && s.latencyNanos() > 100_000_000L);

    Map<String, Boolean> checks = new LinkedHashMap<>();
    checks.put("every acknowledged request billed", ackedNotBilled.isEmpty());
    checks.put("nothing billed twice", billedTwice.isEmpty());
    checks.put("nothing billed that was never sent", billedNeverSent.isEmpty());
    checks.put("acknowledged <= billed <= attempted", billed.size() >= all.size() - unknown.size()
        && billed.size() <= attempted.size());
    if (drill.judgesIsolation()) {
      checks.put("bystander never failed", bystanderSuccess == 1.0);
      checks.put("bystander p99 within bound", bystanderP99During <= bound);
    }
    checks.put("recovered within 60 s", recoverySeconds <= 60);
    // while the metering store is down, nodes refuse at once (before any model runs) instead of timing out
    List<Attempt> failedAttempts;
    synchronized (attempts) {
      failedAttempts = attempts.stream().filter(a -> !a.ok()).toList();
    }
    double failedFast = failedAttempts.isEmpty() ? 1.0 : failedAttempts.stream()
        .filter(a -> a.detail().contains("metering store")).count() / (double) failedAttempts.size();
    if (drill.fault().equals(Drill.CASSANDRA_PAUSE)) {
      checks.put("requests failed fast (UNAVAILABLE before any model ran) while Cassandra was down",
          !failedAttempts.isEmpty() && failedFast >= 0.5);
    }
    checks.put("reconciliation: 0 missing, 0 double", remainingMissing == 0 && reconciledTwice == 0);
    boolean pass = checks.values().stream().allMatch(b -> b);

    Map<String, Object> figures = new LinkedHashMap<>();
    figures.put("attempted", all.size());
    figures.put("acknowledged", all.size() - unknown.size());
    figures.put("billed", billed.size());
    figures.put("unknownOutcome", unknown.size());
    figures.put("unknownOutcomeBilled", unknownBilled);
    figures.put("acknowledgedShare", round(share(all, Sent::acknowledged)));
    figures.put("retried", all.stream().filter(s -> s.attempts() > 1).count());
    Map<String, Double> unavailable = unavailableSeconds(tenants, attempts);
    figures.put("unavailableSecondsByTenant", unavailable);
    figures.put("maxUnavailableSeconds", unavailable.values().stream().mapToDouble(Double::doubleValue).max()
        .orElse(0));
    figures.put("victimSuccessDuringFault", round(victimSuccessDuring));
    figures.put("bystanderSuccess", round(bystanderSuccess));
    figures.put("bystanderP99BeforeMs", round(bystanderP99Before));
    figures.put("bystanderP99DuringMs", round(bystanderP99During));
    figures.put("bystanderP99BoundMs", round(bound));
    figures.put("recoverySeconds", round(recoverySeconds));
    figures.put("firstAttemptSuccessDuringFault", round(successDuringFault));
    figures.put("failedAttemptsFailedFastShare", round(failedFast));
    if (drill.judgesSlo()) {
      figures.put("victimShareOver100msSlo", round(overSlo));
    }

    Map<String, Object> report = new LinkedHashMap<>();
    report.put("drill", drill.name());
    report.put("description", drill.description());
    report.put("verdict", pass ? "PASS" : "FAIL");
    report.put("tenant", tenants.get(0));
    report.put("tenants", tenants);
    report.put("durationSeconds", settings.duration().toSeconds());
    report.put("rate", settings.rate());
    report.put("seed", settings.seed());
    report.put("checks", checks);
    report.put("figures", figures);
    report.put("acknowledgedNotBilled", ackedNotBilled.subList(0, Math.min(100, ackedNotBilled.size())));
    report.put("billedTwice", billedTwice.subList(0, Math.min(100, billedTwice.size())));
    report.put("unknownOutcomes", unknown.stream().limit(100).map(s -> s.id() + " " + s.outcome() + ": "
        + s.detail()).toList());
    return report;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private static double share(List<Sent> list, java.util.function.Predicate<Sent> p) {
    return list.isEmpty() ? 1.0 : list.stream().filter(p).count() / (double) list.size();
  }

  /** The 99th percentile in ms of the acknowledged requests' latencies from their scheduled start; 0 without any. */
  private static double p99(List<Sent> list) {
    Latencies l = new Latencies();
    list.stream().filter(Sent::acknowledged).forEach(s -> l.record(s.latencyNanos()));
    return l.count() == 0 ? 0 : l.percentileMillis(99);
  }

  /**
   * Per tenant, the longest time it went without an answer: the largest gap between the ends of two successful
   * attempts in a row (an attempt that failed on a node that is down, then succeeded on the next one, leaves no
   * gap). Attempts that failed after its last answer count up to the end of the last of them (it went at least that
   * long without one; the drill's recovery checks judge whether it was served again); -1 when it was never answered.
   */
  static Map<String, Double> unavailableSeconds(List<String> tenants, List<Attempt> attempts) {
    Map<String, Double> out = new LinkedHashMap<>();
    List<Attempt> all;
    synchronized (attempts) {
      all = new ArrayList<>(attempts);
    }
    for (String t : tenants) {
      long[] answered = all.stream().filter(a -> a.tenant().equals(t) && a.ok()).mapToLong(Attempt::endNanos)
          .sorted().toArray();
      if (answered.length == 0) {
        out.put(t, -1.0);
        continue;
      }
      long lastAnswer = answered[answered.length - 1];
      long gap = all.stream().filter(a -> a.tenant().equals(t) && !a.ok() && a.startNanos() > lastAnswer)
          .mapToLong(a -> a.endNanos() - lastAnswer).max().orElse(0);
      for (int k = 1; k < answered.length; k++) {
        gap = Math.max(gap, answered[k] - answered[k - 1]);
      }
      out.put(t, round(gap / 1e9));
    }
    return out;
  }

  /** A report as a few lines for a terminal. */
  @SuppressWarnings("unchecked")
  public static String summary(Map<String, Object> report) {
    StringBuilder sb = new StringBuilder();
    sb.append(report.get("drill")).append(": ").append(report.get("verdict")).append('\n');
    ((Map<String, Boolean>) report.get("checks")).forEach((k, v) ->
        sb.append("  ").append(v ? "ok  " : "FAIL").append(' ').append(k).append('\n'));
    ((Map<String, Object>) report.get("figures")).forEach((k, v) ->
        sb.append("  ").append(k).append(": ").append(v).append('\n'));
    if (report.containsKey("attempts")) {
      sb.append(SandboxEscape.lines(report, "  "));
    }
    if (report.get("nodes") instanceof List<?> nodes) {
      for (Object node : nodes) {
        Map<String, Object> n = (Map<String, Object>) node;
        sb.append("  ").append(n.get("node")).append(": ").append(n.get("verdict")).append('\n');
        sb.append(SandboxEscape.lines(n, "    "));
      }
    }
    if (report.containsKey("tableFile")) {
      sb.append("  table: ").append(report.get("tableFile")).append('\n');
    }
    if (report.containsKey("reportFile")) {
      sb.append("  report: ").append(report.get("reportFile")).append('\n');
    }
    return sb.toString();
  }

}
