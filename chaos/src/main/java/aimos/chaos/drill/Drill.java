package aimos.chaos.drill;

import java.util.List;

/**
 * A fault a drill injects into a running cluster, and how it is healed. Drills of one model (the victim) run
 * beside a second model (the bystander), whose requests must not suffer.
 */
public record Drill(String name, String description, String fault, int count, int delayMs, boolean judgesSlo,
                    boolean judgesIsolation) {

  /** The Cassandra outage pauses the database process, so it needs a drill runner that controls that process. */
  public static final String CASSANDRA_PAUSE = "CASSANDRA_PAUSE";
  /** Node faults act on the processes of a local cluster ({@code bin/aimos cluster up}). */
  public static final String NODE_KILL = "NODE_KILL";
  public static final String NODE_RESTART = "NODE_RESTART";
  public static final String PARTITION = "PARTITION";
  /** The node is frozen (SIGSTOP), as a long garbage-collection pause freezes it, then resumed. */
  public static final String NODE_PAUSE = "NODE_PAUSE";
  /** A hostile model in a real sandbox of each node tries every way out; no load, no fault injected. */
  public static final String SANDBOX_ESCAPE = "SANDBOX_ESCAPE";

  public static final List<Drill> ALL = List.of(
      new Drill("sandbox-crash-storm", "the victim's sandbox crashes on 5 requests in a row", "CRASH", 5, 0, false,
          true),
      new Drill("sandbox-hang", "the victim's sandbox stops answering, pings included", "HANG", 1, 0, false, true),
      new Drill("sandbox-memory-bomb", "the victim allocates memory until its cap stops it, twice", "LEAK_MEMORY", 2, 0,
          false, true),
      new Drill("slow-model", "the victim answers 150 ms late for a while", "SLOW", 40, 150, true, true),
      new Drill("lease-expiry", "the victim's worker stops renewing itself for 8 s: the model drops it and reclaims "
          + "its leases, then it comes back", "SILENT_WORKER", 1, 8_000, false, true),
      new Drill("cassandra-outage", "Cassandra is frozen (SIGSTOP) for 10 s under load, then resumed",
          CASSANDRA_PAUSE, 0, 10_000, false, false),
      new Drill("node-kill", "kill -9 of the node hosting the drill tenant; the others down it; restarted after 15 s",
          NODE_KILL, 0, 15_000, false, false),
      new Drill("node-restart", "the node hosting the drill tenant leaves gracefully (SIGTERM) and starts again",
          NODE_RESTART, 0, 0, false, false),
      new Drill("network-partition", "every link between the drill tenant's node and the other nodes is cut for "
          + "15 s (nodes in network namespaces): the minority downs itself, one writer per entity", PARTITION, 0,
          15_000, false, false),
      new Drill("node-pause", "the node hosting the drill tenant is frozen (SIGSTOP) for 4 s, as a long GC pause "
          + "freezes it, then resumed: the cluster must ride it out without downing the node (--pause sets the time)",
          NODE_PAUSE, 0, 4_000, false, false),
      new Drill("sandbox-escape", "a hostile model in a real sandbox of the node, contained as the node contains "
          + "models, tries each way out (the node's environment, memory and files, ptrace, other sandboxes, sockets, "
          + "writes outside its dir, a fork bomb); every attempt must be denied, with every containment layer",
          SANDBOX_ESCAPE, 0, 0, false, false));

  /** Whether the drill needs a local cluster's processes (and not only a node's APIs). */
  public boolean needsCluster() {
    return fault.equals(NODE_KILL) || fault.equals(NODE_RESTART) || fault.equals(PARTITION)
        || fault.equals(NODE_PAUSE);
  }

  /** The same drill with its fault held for another time (the pause of node-pause, say). */
  public Drill lasting(java.time.Duration faultTime) {
    return new Drill(name, description.replace(delayMs / 1000 + " s", faultTime.toSeconds() + " s"), fault, count,
        (int) Math.min(Integer.MAX_VALUE, faultTime.toMillis()), judgesSlo, judgesIsolation);
  }

  public static Drill named(String name) {
    return ALL.stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow(() ->
        new IllegalArgumentException("unknown drill '" + name + "'; drills: "
            + String.join(", ", ALL.stream().map(Drill::name).toList())));
  }
}
