package aimos.chaos.drill;

import aimos.chaos.cluster.LocalCluster;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The fault of a node drill, run on its own thread beside the load: kill -9, graceful restart, or a network cut of
 * one node (the one hosting the drill tenant's entity, so that the fault hits it); then the heal (restart, reconnect)
 * and the wait until every node is Up again. What the other nodes saw meanwhile is recorded for the verdict.
 */
final class NodeFault {
  private final Drill drill;
  private final LocalCluster cluster;
  private final int victim;
  private final int viewer;
  private final Consumer<String> progress;

  volatile long faultNanos;
  volatile long healNanos;
  volatile long recoveredNanos;
  volatile boolean seenUnreachable;
  volatile boolean removedByOthers;
  volatile boolean exitedByItself;
  volatile boolean leftGracefully;
  volatile boolean paused;
  volatile String error;

  NodeFault(Drill drill, LocalCluster cluster, int victim, Consumer<String> progress) {
    this.drill = drill;
    this.cluster = cluster;
    this.victim = victim;
    this.viewer = victim == 1 ? 2 : 1;
    this.progress = progress;
  }

  CompletableFuture<Void> start(long faultAtNanos, Duration healAfter) {
    return CompletableFuture.runAsync(() -> {
      try {
        sleepUntil(faultAtNanos);
        run(healAfter);
      } catch (RuntimeException e) {
        error = e.getMessage();
        progress.accept("the fault could not be carried out: " + e.getMessage());
      } finally {
        if (paused) {
          cluster.resume(victim);
        }
        cluster.heal();
      }
    }, runnable -> {
      Thread t = new Thread(runnable, "drill-node-fault");
      t.setDaemon(true);
      t.start();
    });
  }

  private void run(Duration healAfter) {
    String who = "node " + victim + " (" + cluster.remoting(victim) + ")";
    switch (drill.fault()) {
      case Drill.NODE_KILL -> {
        cluster.kill(victim);
        faultNanos = System.nanoTime();
        progress.accept("killed " + who + " with SIGKILL");
        watch(healAfter, () -> removedByOthers);
        progress.accept(removedByOthers ? "the others downed and removed it" : "it was not removed in time");
      }
      case Drill.NODE_RESTART -> {
        faultNanos = System.nanoTime();
        progress.accept("stopping " + who + " with SIGTERM (leave, hand over, exit)");
        CompletableFuture<Boolean> stopped = CompletableFuture.supplyAsync(() -> cluster.stop(victim));
        watch(Duration.ofSeconds(70), stopped::isDone);
        leftGracefully = stopped.join();
        progress.accept(leftGracefully ? "it left and exited" : "it did not exit within 60 s and was killed");
      }
      case Drill.PARTITION -> {
        cluster.isolate(victim);
        faultNanos = System.nanoTime();
        progress.accept("cut every link between " + who + " and the other nodes for " + healAfter.toSeconds() + " s");
        watch(healAfter, () -> false);
        exitedByItself = !cluster.isAlive(victim);
        cluster.heal();
        progress.accept("links restored; the isolated node " + (exitedByItself ? "had downed itself and exited"
            : "was still running"));
        if (!exitedByItself) {
          // a minority that keeps running after the cut would be a second writer: give it a moment, then stop it
          exitedByItself = cluster.awaitExit(victim, Duration.ofSeconds(20));
          if (!exitedByItself) {
            cluster.stop(victim);
          }
        }
      }
      case Drill.NODE_PAUSE -> {
        cluster.pause(victim);
        paused = true;
        faultNanos = System.nanoTime();
        progress.accept("froze " + who + " with SIGSTOP for " + healAfter.toMillis() + " ms");
        watch(healAfter, () -> removedByOthers);
        cluster.resume(victim);
        paused = false;
        healNanos = System.nanoTime();
        progress.accept("resumed it (SIGCONT)");
        awaitVerdictOnPausedNode();
        progress.accept("the others " + (removedByOthers ? "downed it"
            : seenUnreachable ? "saw it unreachable, and kept it" : "never saw it unreachable"));
        if (!removedByOthers) {
          // still a member: the others must see it reachable again, with nobody restarted
          cluster.awaitAllUp(Duration.ofMinutes(2));
          recoveredNanos = System.nanoTime();
          progress.accept(String.format("all %d nodes Up, %.1f s after the pause began", cluster.size(),
              (recoveredNanos - faultNanos) / 1e9));
          return;
        }
        // downed: it learns so on waking and exits; start it again
        cluster.awaitExit(victim, Duration.ofSeconds(30));
        if (cluster.isAlive(victim)) {
          cluster.kill(victim);
        }
      }
      default -> throw new IllegalArgumentException("not a node fault: " + drill.fault());
    }
    if (healNanos == 0) {
      // a paused node was healed when it was thawed
      healNanos = System.nanoTime();
    }
    progress.accept("starting node " + victim + " again");
    cluster.start(victim);
    cluster.awaitReady(victim, Duration.ofMinutes(3));
    cluster.awaitAllUp(Duration.ofMinutes(2));
    recoveredNanos = System.nanoTime();
    progress.accept(String.format("all %d nodes Up again, %.1f s after the fault", cluster.size(),
        (recoveredNanos - faultNanos) / 1e9));
  }

  /**
   * After the thaw, the split brain resolver may still down the node on a decision it was about to take: watches
   * the other nodes' views until both see it Up with nobody unreachable (ridden out: no decision can come any more),
   * or one sees it Down or gone (downed).
   */
  private void awaitVerdictOnPausedNode() {
    String address = cluster.remoting(victim);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      boolean settled = true;
      for (int other = 1; other <= cluster.size(); other++) {
        if (other == victim) {
          continue;
        }
        Optional<Map<String, String>> members = cluster.members(other);
        if (members.isEmpty()) {
          settled = false;
          continue;
        }
        String state = members.get().get(address);
        if (state == null || state.equals("Down")) {
          removedByOthers = true;
          return;
        }
        if (!state.equals("Up") || members.get().containsValue("unreachable")) {
          seenUnreachable |= state.equals("unreachable");
          settled = false;
        }
      }
      if (settled) {
        return;
      }
      LocalCluster.sleep(200);
    }
  }

  /** Polls what another node sees of the victim until {@code done} or the time is up. */
  private void watch(Duration max, BooleanSupplier done) {
    long deadline = System.nanoTime() + max.toNanos();
    String address = cluster.remoting(victim);
    while (System.nanoTime() < deadline && !done.getAsBoolean()) {
      Optional<Map<String, String>> members = cluster.members(viewer);
      if (members.isPresent()) {
        String state = members.get().get(address);
        if ("unreachable".equals(state)) {
          seenUnreachable = true;
        }
        if (state == null) {
          removedByOthers = true;
        }
      }
      LocalCluster.sleep(200);
    }
  }

  Map<String, Object> figures() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("faultedNode", victim);
    m.put("seenUnreachableByOthers", seenUnreachable);
    m.put("removedByOthers", removedByOthers);
    if (drill.fault().equals(Drill.PARTITION)) {
      m.put("isolatedNodeDownedItself", exitedByItself);
    }
    if (drill.fault().equals(Drill.NODE_PAUSE)) {
      m.put("pauseSeconds", drill.delayMs() / 1000.0);
      m.put("downedWhilePaused", removedByOthers);
    }
    if (recoveredNanos != 0) {
      m.put("clusterRecoveredSeconds", Math.round((recoveredNanos - faultNanos) / 1e6) / 1000.0);
    }
    return m;
  }

  Map<String, Boolean> checks() {
    Map<String, Boolean> m = new LinkedHashMap<>();
    m.put("fault carried out" + (error == null ? "" : ": " + error), error == null);
    switch (drill.fault()) {
      case Drill.NODE_KILL -> m.put("killed node downed and removed by the split brain resolver", removedByOthers);
      case Drill.NODE_RESTART -> m.put("node left gracefully: exited on SIGTERM, never seen unreachable",
          leftGracefully && !seenUnreachable);
      case Drill.PARTITION -> {
        m.put("majority downed and removed the isolated node", removedByOthers);
        m.put("isolated minority downed itself and exited", exitedByItself);
      }
      case Drill.NODE_PAUSE -> m.put("node frozen for " + drill.delayMs() / 1000.0 + " s was not downed (the failure "
          + "detector and the split brain resolver's stable-after ride out such a pause)", !removedByOthers);
      default -> { }
    }
    m.put("all " + cluster.size() + " nodes Up again", recoveredNanos != 0);
    return m;
  }

  private static void sleepUntil(long nanos) {
    long wait = nanos - System.nanoTime();
    if (wait > 0) {
      LocalCluster.sleep(wait / 1_000_000);
    }
  }
}
