package aimos.chaos.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The status of a local cluster read from its directory, without a node running. */
class ClusterStatusTest {
  /** Above Linux's largest pid (pid_max is at most 2^22): never a live process. */
  private static final long DEAD_PID = 999_999_999L;

  @TempDir
  Path dir;

  private void save(int nodes) {
    new LocalCluster(new LocalCluster.Layout(dir, nodes, null, "10.213.0", "java", "unused.jar", List.of(),
        "127.0.0.1:9042"), s -> { }).save();
  }

  @Test
  void aClusterWhoseProcessesAreGoneShowsEachNodeNotRunning() throws Exception {
    save(2);
    Files.writeString(dir.resolve("node1.pid"), Long.toString(DEAD_PID));
    Files.writeString(dir.resolve("cassandra.pid"), Long.toString(DEAD_PID));

    ClusterStatus s = ClusterStatus.of(dir);

    assertEquals(dir.toString(), s.dir());
    assertEquals(2, s.nodes().size());
    ClusterStatus.Node one = s.nodes().get(0);
    assertEquals(1, one.node());
    assertNull(one.pid(), "a stale pid file is no pid");
    assertFalse(one.alive());
    assertFalse(one.ready());
    assertEquals("127.0.0.1:8081", one.gateway());
    assertEquals("http://127.0.0.1:8561", one.management());
    assertEquals(dir.resolve("node1.log").toString(), one.log());
    ClusterStatus.Node two = s.nodes().get(1);
    assertEquals("127.0.0.1:8082", two.gateway());
    assertEquals("http://127.0.0.1:8562", two.management());
    assertFalse(two.alive());
    assertEquals(new ClusterStatus.Cassandra(null, false, "127.0.0.1:9042"), s.cassandra());
    assertEquals("plaintext", s.transport());
    assertNull(s.membersSeenBy(), "no live node to ask");
    assertEquals(List.of(), s.members());

    assertEquals(List.of("node 1: not running (log " + dir.resolve("node1.log") + ")",
        "node 2: not running (log " + dir.resolve("node2.log") + ")", "cassandra: not running",
        "transport: plaintext"), s.lines());
  }

  @Test
  void aLiveProcessIsShownWithItsPid() throws Exception {
    save(1);
    long self = ProcessHandle.current().pid();
    Files.writeString(dir.resolve("node1.pid"), Long.toString(self));
    Files.writeString(dir.resolve("cassandra.pid"), Long.toString(self));

    ClusterStatus s = ClusterStatus.of(dir);

    ClusterStatus.Node one = s.nodes().get(0);
    assertEquals(self, one.pid());
    assertTrue(one.alive());
    assertEquals(new ClusterStatus.Cassandra(self, true, "127.0.0.1:9042"), s.cassandra());
    assertTrue(s.lines().get(0).startsWith("node 1: pid " + self + ", gateway 127.0.0.1:8081, management "
        + "http://127.0.0.1:8561, "), s.lines().toString());
    assertEquals("cassandra: pid " + self + ", 127.0.0.1:9042", s.lines().get(1));
  }

  @Test
  void aDirectoryWithoutAClusterSaysHowToStartOne() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> ClusterStatus.of(dir));
    assertTrue(e.getMessage().contains("No local cluster here (" + dir + ")"), e.getMessage());
    assertTrue(e.getMessage().contains("bin/aimos cluster up"), e.getMessage());
  }
}
