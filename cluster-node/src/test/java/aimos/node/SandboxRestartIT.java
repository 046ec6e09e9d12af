package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.InferenceServiceClient;
import aimos.billing.ledger.LedgerRow;
import aimos.model.sandbox.SandboxMain;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The sandbox process is killed while requests run: the node restarts it, later requests succeed, nothing is lost. */
class SandboxRestartIT {
  private static TestCluster cluster;
  private static String key;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1);
    Http.textModel(cluster, "fragile-text");
    cluster.awaitWorkerReady("fragile-text", "v1");
    key = Http.tenantWithKey(cluster, "fragile", 100_000, 64);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  static List<ProcessHandle> sandboxesOf(String model) {
    return ProcessHandle.current().descendants().filter(p -> {
      try {
        Path proc = Path.of("/proc", Long.toString(p.pid()));
        return Files.readString(proc.resolve("cmdline")).contains(SandboxMain.class.getName())
            && Files.readSymbolicLink(proc.resolve("cwd")).toString().contains("/" + model + "/");
      } catch (IOException e) {
        return false;
      }
    }).toList();
  }

  @Test
  void killedSandboxIsRestartedAndOnlyAnsweredRequestsAreBilled() throws Exception {
    InferenceServiceClient client = cluster.client(0);
    TestCluster.infer(client, key, "fragile-text", "warm", "warm up");
    List<ProcessHandle> before = sandboxesOf("fragile-text");
    assertEquals(1, before.size());

    // 4 callers keep sending until told to stop; each outcome is recorded by request id
    Map<String, String> outcomes = new ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean();
    List<CompletableFuture<Void>> callers = List.of(0, 1, 2, 3).stream().map(c -> CompletableFuture.runAsync(() -> {
      for (int i = 0; i < 2000 && !stop.get(); i++) {
        String id = "c" + c + "-" + i;
        try {
          TestCluster.infer(client, key, "fragile-text", id, "request " + i + " of caller " + c);
          outcomes.put(id, "OK");
        } catch (CompletionException e) {
          outcomes.put(id, ((StatusRuntimeException) e.getCause()).getStatus().getCode().name());
        }
      }
    })).toList();

    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(20), () -> {
      assertTrue(outcomes.size() >= 20, "requests running before the kill");
      return null;
    });
    before.get(0).destroyForcibly();
    int atKill = outcomes.size();
    probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
      List<ProcessHandle> now = sandboxesOf("fragile-text");
      assertEquals(1, now.size());
      assertTrue(now.get(0).pid() != before.get(0).pid());
      assertTrue(outcomes.size() > atKill + 20, "requests keep being answered after the restart");
      return null;
    });
    stop.set(true);
    CompletableFuture.allOf(callers.toArray(CompletableFuture[]::new)).get();

    // requests failed during the crash with a retryable status, and the node counted the restart
    Set<String> failureKinds = outcomes.values().stream().filter(v -> !v.equals("OK")).collect(Collectors.toSet());
    assertTrue(Set.of("UNAVAILABLE", "INTERNAL").containsAll(failureKinds), failureKinds.toString());
    assertTrue(cluster.nodes.get(0).metrics().sandboxRestarts("fragile-text", "v1") >= 1);

    // exactly the answered requests are in the ledger
    Set<String> answered = outcomes.entrySet().stream().filter(e -> e.getValue().equals("OK"))
        .map(Map.Entry::getKey).collect(Collectors.toSet());
    answered.add("warm");
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      Set<String> billed = cluster.ledgerRows("fragile", month)
          .stream().map(LedgerRow::requestId).collect(Collectors.toSet());
      assertEquals(answered, billed);
      return null;
    });
  }
}
