package aimos.node.admin;

import aimos.chaos.drill.Drill;
import aimos.chaos.drill.DrillRun;
import aimos.chaos.drill.SandboxEscape;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drills started through the secops API ({@code POST /admin/chaos/drills/{drill}}) run on this node, one at a time,
 * against this node's own gateway and management API; their reports stay here to be read
 * ({@code GET /admin/chaos/runs/{id}}).
 */
public final class DrillRuns {
  private static final Logger log = LoggerFactory.getLogger(DrillRuns.class);

  private final ActorSystem<?> system;
  private final java.util.function.Supplier<String> gateway;
  private final String management;
  private final String adminToken;
  private final String secopsToken;
  private final Path reportDir;
  /** How this node runs its models' sandboxes: the sandbox-escape drill starts its probe's the same way. */
  private final aimos.model.sandbox.SandboxSettings sandboxes;
  private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "aimos-drills");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, Map<String, Object>> runs = new ConcurrentHashMap<>();

  public DrillRuns(ActorSystem<?> system, java.util.function.Supplier<String> gateway, String management, String adminToken, String secopsToken,
                   Path reportDir, aimos.model.sandbox.SandboxSettings sandboxes) {
    this.sandboxes = sandboxes;
    this.system = system;
    this.gateway = gateway;
    this.management = management;
    this.adminToken = adminToken;
    this.secopsToken = secopsToken;
    this.reportDir = reportDir;
  }

  /**
   * How a drill reaches this node: plaintext, or TLS trusting the node's CA file (else its own certificate) when it
   * serves TLS.
   */
  static aimos.chaos.tls.ClientTls selfTls(com.typesafe.config.Config config) {
    String cert = config.getString("aimos.tls.certificate-file");
    if (cert.isEmpty()) {
      return aimos.chaos.tls.ClientTls.PLAINTEXT;
    }
    String ca = config.getString("aimos.tls.ca-file");
    return aimos.chaos.tls.ClientTls.trusting(Path.of(ca.isEmpty() ? cert : ca));
  }

  /** Queues a drill; the answer names the run to poll. Bad names and settings fail at once. */
  public Map<String, Object> start(String name, Duration duration, int rate, long seed) {
    Drill drill = Drill.named(name);
    if (drill.needsCluster()) {
      throw new IllegalArgumentException("drill " + name + " kills, restarts or cuts off node processes, which a node "
          + "does not control: run it with 'bin/aimos chaos run " + name + "' on the host of a 'bin/aimos cluster up' "
          + "cluster");
    }
    if (drill.fault().equals(Drill.CASSANDRA_PAUSE)) {
      throw new IllegalArgumentException("drill " + name + " pauses the Cassandra process, which a node does not "
          + "control: run it with 'bin/aimos chaos run " + name + "' on the host of a 'bin/aimos cluster up' cluster");
    }
    boolean escape = drill.fault().equals(Drill.SANDBOX_ESCAPE);
    DrillRun.Settings settings = escape ? null : new DrillRun.Settings(gateway.get(), management, adminToken,
        secopsToken, duration, rate, seed, reportDir, 0, null);
    String id = name + "-" + Long.toString(System.currentTimeMillis(), 36);
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("id", id);
    status.put("drill", name);
    status.put("status", "queued");
    status.put("poll", "/admin/chaos/runs/" + id);
    runs.put(id, status);
    CompletableFuture.runAsync(() -> {
      status.put("status", "running");
      try {
        Map<String, Object> report = escape
            ? SandboxEscape.onThisNode(drill, sandboxes, system.address().hostPort(), id, reportDir,
                line -> log.info("Drill {}: {}", id, line))
            : new DrillRun(system, settings, line -> log.info("Drill {}: {}", id, line),
                selfTls(system.settings().config())).run(drill);
        status.put("report", report);
        status.put("status", "done");
        log.info("Drill {} finished: {}", id, report.get("verdict"));
      } catch (Exception | AssertionError e) {
        status.put("status", "failed");
        status.put("error", e.toString());
        log.warn("Drill {} could not run: {}", id, e.toString());
      }
    }, runner);
    return Map.copyOf(status);
  }

  public Map<String, Object> get(String id) {
    Map<String, Object> status = runs.get(id);
    if (status == null) {
      throw new IllegalArgumentException("no drill run " + id + " on this node");
    }
    return new LinkedHashMap<>(status);
  }
}
