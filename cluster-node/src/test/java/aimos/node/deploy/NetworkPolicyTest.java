package aimos.node.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The network policies in {@code k8s/} evaluated offline with NetworkPolicy's semantics (a pod selected by some
 * policy of a type admits only what one of those policies' rules admits; a rule without {@code from}/{@code to}
 * matches every peer, one without {@code ports} every port), against the pods and ports the manifests declare.
 */
class NetworkPolicyTest {
  private static final List<Map<String, Object>> docs = new ArrayList<>();

  /** A pod by its labels; {@code null} labels: a peer outside the cluster. */
  record Pod(Map<String, Object> labels, String namespace) {
    static final Pod OUTSIDE = new Pod(null, null);
  }

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void load() throws IOException {
    Path dir = Path.of("..", "k8s");
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        try (Reader r = Files.newBufferedReader(f)) {
          for (Object doc : new Yaml().loadAll(r)) {
            if (doc != null) {
              docs.add((Map<String, Object>) doc);
            }
          }
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static <T> T at(Object node, String... path) {
    Object o = node;
    for (String p : path) {
      o = o == null ? null : ((Map<String, Object>) o).get(p);
    }
    return (T) o;
  }

  private static List<Map<String, Object>> ofKind(String kind) {
    return docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
  }

  private static Map<String, Object> workload(String name) {
    return docs.stream().filter(d -> List.of("Deployment", "StatefulSet").contains(d.get("kind"))
        && name.equals(at(d, "metadata", "name"))).findFirst().orElseThrow(() -> new AssertionError("no " + name));
  }

  private static Pod podOf(String workload) {
    Map<String, Object> w = workload(workload);
    return new Pod(at(w, "spec", "template", "metadata", "labels"), at(w, "metadata", "namespace"));
  }

  /** The container port named {@code name} of the workload's first container. */
  private static int port(String workload, String name) {
    List<Map<String, Object>> containers = at(workload(workload), "spec", "template", "spec", "containers");
    List<Map<String, Object>> ports = at(containers.get(0), "ports");
    return ports.stream().filter(p -> name.equals(p.get("name"))).map(p -> (Integer) p.get("containerPort"))
        .findFirst().orElseThrow(() -> new AssertionError(workload + " has no port " + name));
  }

  @SuppressWarnings("unchecked")
  private static boolean selects(Map<String, Object> selector, Map<String, Object> labels) {
    if (labels == null) {
      return false;
    }
    Map<String, Object> match = selector == null ? Map.of() : (Map<String, Object>) selector.getOrDefault(
        "matchLabels", Map.of());
    return match.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }

  /** Whether a peer entry ({@code from} or {@code to} element) matches {@code pod} seen from {@code namespace}. */
  private static boolean peerMatches(Map<String, Object> peer, Pod pod, String namespace) {
    if (pod.labels() == null) {
      return peer.containsKey("ipBlock");
    }
    // a namespace selector matches namespaces by their labels; every namespace has kubernetes.io/metadata.name
    boolean nsOk = peer.containsKey("namespaceSelector")
        ? selects(at(peer, "namespaceSelector"), Map.of("kubernetes.io/metadata.name", pod.namespace()))
        : namespace.equals(pod.namespace());
    boolean podOk = !peer.containsKey("podSelector") || selects(at(peer, "podSelector"), pod.labels());
    return nsOk && podOk && (peer.containsKey("podSelector") || peer.containsKey("namespaceSelector"));
  }

  private static boolean portMatches(List<Map<String, Object>> ports, int port) {
    return ports == null || ports.stream().anyMatch(p -> Integer.valueOf(port).equals(p.get("port")));
  }

  /** Whether traffic from {@code from} to {@code to}'s TCP {@code port} is admitted in direction {@code type}. */
  private static boolean allowed(String type, Pod subject, Pod peer, int port) {
    String peersKey = type.equals("Ingress") ? "from" : "to";
    List<Map<String, Object>> selecting = ofKind("NetworkPolicy").stream()
        .filter(np -> subject.namespace().equals(at(np, "metadata", "namespace")))
        .filter(np -> selects(at(np, "spec", "podSelector"), subject.labels()))
        .filter(np -> ((List<String>) at(np, "spec", "policyTypes")).contains(type)).toList();
    if (selecting.isEmpty()) {
      return true;
    }
    for (Map<String, Object> np : selecting) {
      List<Map<String, Object>> rules = at(np, "spec", type.toLowerCase());
      for (Map<String, Object> rule : rules == null ? List.<Map<String, Object>>of() : rules) {
        List<Map<String, Object>> peers = at(rule, peersKey);
        boolean peerOk = peers == null || peers.stream().anyMatch(p -> peerMatches(p, peer, subject.namespace()));
        if (peerOk && portMatches(at(rule, "ports"), port)) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean reaches(Pod from, Pod to, int port) {
    return allowed("Ingress", to, from, port) && (from.labels() == null || allowed("Egress", from, to, port));
  }

  @Test
  void onlyAimosPodsReachRemotingManagementAndCassandraWhileTheGatewayIsOpen() {
    Pod aimos = podOf("aimos");
    Pod cassandra = podOf("cassandra");
    Pod stranger = new Pod(Map.of("app", "something-else"), aimos.namespace());
    int gateway = port("aimos", "gateway");
    int management = port("aimos", "management");
    int remoting = port("aimos", "remoting");
    int cql = port("cassandra", "cql");

    assertTrue(reaches(aimos, aimos, remoting), "nodes talk to each other");
    assertTrue(reaches(aimos, aimos, management), "cluster bootstrap probes its peers");
    assertTrue(reaches(aimos, cassandra, cql), "nodes reach their store");
    for (Pod other : new Pod[] {Pod.OUTSIDE, stranger, cassandra}) {
      assertFalse(reaches(other, aimos, remoting), "remoting from " + other);
      assertFalse(reaches(other, aimos, management), "management from " + other);
      assertTrue(reaches(other, aimos, gateway), "the gateway from " + other);
    }
    assertFalse(reaches(Pod.OUTSIDE, cassandra, cql));
    assertFalse(reaches(stranger, cassandra, cql));
    // and nothing else is open on either: a port no rule names is closed
    assertFalse(reaches(aimos, aimos, 9999));
    assertFalse(reaches(aimos, cassandra, 7199), "JMX");
  }

  @Test
  void theDdlJobReachesCassandraOnlyAndPrometheusOnlyMetrics() {
    Pod aimos = podOf("aimos");
    Pod cassandra = podOf("cassandra");
    Pod ddl = new Pod(Map.of("app", "aimos-ddl"), aimos.namespace());
    Pod prometheus = new Pod(Map.of("app.kubernetes.io/name", "prometheus"), "monitoring");
    int cql = port("cassandra", "cql");
    assertTrue(reaches(ddl, cassandra, cql), "the DDL Job reaches Cassandra");
    assertFalse(reaches(ddl, aimos, port("aimos", "management")), "the DDL Job reaches no node");
    assertFalse(reaches(ddl, aimos, port("aimos", "remoting")));
    assertFalse(reaches(aimos, ddl, 8080), "nothing reaches the DDL Job");
    assertFalse(reaches(Pod.OUTSIDE, ddl, 8080));
    assertTrue(reaches(prometheus, aimos, port("aimos", "management")), "Prometheus scrapes /metrics");
    assertFalse(reaches(prometheus, aimos, port("aimos", "remoting")));
    assertFalse(reaches(prometheus, cassandra, cql));
    Pod lookalike = new Pod(Map.of("app.kubernetes.io/name", "prometheus"), aimos.namespace());
    assertFalse(reaches(lookalike, aimos, port("aimos", "management")), "a prometheus label outside monitoring");
  }

  @Test
  void everyPortTheWorkloadsDeclareIsDecidedByARule() {
    Pod aimos = podOf("aimos");
    assertEquals("aimos", aimos.namespace());
    for (String w : List.of("aimos", "cassandra")) {
      List<Map<String, Object>> containers = at(workload(w), "spec", "template", "spec", "containers");
      for (Map<String, Object> p : (List<Map<String, Object>>) at(containers.get(0), "ports")) {
        int port = (Integer) p.get("containerPort");
        assertTrue(reaches(aimos, podOf(w), port) || reaches(Pod.OUTSIDE, podOf(w), port),
            w + " declares port " + port + " that nothing may reach: a rule is missing");
      }
    }
  }
}
