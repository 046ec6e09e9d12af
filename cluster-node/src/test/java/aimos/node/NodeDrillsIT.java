package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.cassandra.SharedCassandra;
import aimos.chaos.cluster.LocalCluster;
import aimos.chaos.drill.Drill;
import aimos.chaos.drill.DrillRun;
import aimos.chaos.tls.LocalCa;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
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
 * drills' gRPC and admin clients and the cluster's probes work over TLS here.
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
        "-Daimos.metrics.jvm=off");
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
}
