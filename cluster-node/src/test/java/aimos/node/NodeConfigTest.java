package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodeConfigTest {
  @Test
  void takesListSettingsFromCommaSeparatedEnvironmentVariables() {
    var c = NodeConfig.load(ConfigFactory.empty(), Map.of(
        "AIMOS_CASSANDRA_CONTACT_POINTS", "10.0.0.1:9042, 10.0.0.2:9042",
        "AIMOS_SEED_NODES", "pekko://aimos@127.0.0.1:25520"));
    assertEquals(List.of("10.0.0.1:9042", "10.0.0.2:9042"),
        c.getStringList("datastax-java-driver.basic.contact-points"));
    assertEquals(List.of("pekko://aimos@127.0.0.1:25520"), c.getStringList("pekko.cluster.seed-nodes"));
  }

  @Test
  void defaultsToOneLocalNode() {
    var c = NodeConfig.load(ConfigFactory.empty(), Map.of());
    assertEquals(List.of("127.0.0.1:9042"), c.getStringList("datastax-java-driver.basic.contact-points"));
    assertEquals(List.of(), c.getStringList("pekko.cluster.seed-nodes"));
    var s = NodeSettings.from(c);
    assertEquals(8080, s.gatewayPort());
    assertEquals("seed-nodes", s.clusterFormation());
  }

  @Test
  void refusesAnUnknownClusterFormation() {
    var c = NodeConfig.load(ConfigFactory.parseString("aimos.cluster-formation = dns"), Map.of());
    var e = assertThrows(IllegalArgumentException.class, () -> NodeSettings.from(c));
    assertEquals("aimos.cluster-formation must be seed-nodes or kubernetes, was dns", e.getMessage());
  }
}
