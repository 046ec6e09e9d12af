package aimos.chaos.cluster;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code cluster status} shows of a local cluster: each node's process, ports and readiness, its Cassandra, how
 * clients reach it, and the members as the first live node sees them. Only live nodes are asked (readiness,
 * members): a dead node's port may belong to someone else by now.
 *
 * @param dir           the cluster's directory ($AIMOS_CLUSTER_DIR)
 * @param transport     how clients reach its nodes: plaintext, or TLS trusting the cluster's CA
 * @param membersSeenBy the node whose view {@code members} is; null when no node answered
 */
public record ClusterStatus(String dir, List<Node> nodes, Cassandra cassandra, String transport, Integer membersSeenBy,
                            List<Member> members) {

  /**
   * One node: its pid (null when not running), whether its /ready answers, its gateway and management addresses
   * (management as a URL, with the scheme clients use) and its log.
   */
  public record Node(int node, Long pid, boolean alive, boolean ready, String gateway, String management,
                     String log) {}

  /** The cluster's Cassandra: its launcher's pid (null when not running) and the contact point nodes use. */
  public record Cassandra(Long pid, boolean alive, String contactPoint) {}

  /** A member: its remoting address and status ("Up", "Leaving", "Down", "unreachable", ...). */
  public record Member(String address, String status) {}

  public ClusterStatus {
    nodes = List.copyOf(nodes);
    members = List.copyOf(members);
  }

  /** The status of the cluster last started in {@code dir}; IllegalStateException when there is none. */
  public static ClusterStatus of(Path dir) {
    LocalCluster cluster = LocalCluster.open(dir, s -> { }).orElseThrow(() -> new IllegalStateException(
        "No local cluster here (" + dir + "). Start one with 'bin/aimos cluster up'."));
    return of(cluster);
  }

  public static ClusterStatus of(LocalCluster cluster) {
    List<Node> nodes = new ArrayList<>();
    Integer seenBy = null;
    List<Member> members = List.of();
    for (int i = 1; i <= cluster.size(); i++) {
      Optional<Long> pid = cluster.pid(i).filter(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false));
      boolean ready = pid.isPresent() && cluster.ready(i);
      nodes.add(new Node(i, pid.orElse(null), pid.isPresent(), ready, cluster.gateway(i),
          cluster.clientTls().url(cluster.management(i), ""), cluster.log(i).toString()));
      if (seenBy == null && pid.isPresent()) {
        Optional<Map<String, String>> view = cluster.members(i);
        if (view.isPresent()) {
          seenBy = i;
          members = view.get().entrySet().stream().map(e -> new Member(e.getKey(), e.getValue())).toList();
        }
      }
    }
    Optional<Long> cassandra = cluster.cassandraLauncherPid()
        .filter(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false));
    return new ClusterStatus(cluster.layout().dir().toString(), nodes,
        new Cassandra(cassandra.orElse(null), cassandra.isPresent(), cluster.layout().cassandra()),
        cluster.clientTls().toString(), seenBy, members);
  }

  /** The status as lines of text, as 'bin/aimos cluster up' ends with it. */
  public List<String> lines() {
    List<String> lines = new ArrayList<>();
    for (Node n : nodes) {
      lines.add(n.alive()
          ? String.format("node %d: pid %d, gateway %s, management %s, %s", n.node(), n.pid(), n.gateway(),
              n.management(), state(n))
          : String.format("node %d: not running (log %s)", n.node(), n.log()));
    }
    lines.addAll(summary());
    return lines;
  }

  /** A node's state in a word or two: ready, NOT ready (running, /ready does not answer 200) or not running. */
  public static String state(Node n) {
    return !n.alive() ? "not running" : n.ready() ? "ready" : "NOT ready";
  }

  /** The lines after the nodes': Cassandra, the transport and the members. */
  public List<String> summary() {
    List<String> lines = new ArrayList<>();
    lines.add(cassandra.alive() ? "cassandra: pid " + cassandra.pid() + ", " + cassandra.contactPoint()
        : "cassandra: not running");
    lines.add("transport: " + transport);
    if (membersSeenBy != null) {
      lines.add("members (as node " + membersSeenBy + " sees them):");
      members.forEach(m -> lines.add("  " + m.address() + " " + m.status()));
    }
    return lines;
  }
}
