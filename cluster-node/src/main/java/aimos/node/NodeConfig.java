package aimos.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Loads the node's configuration: application.conf with its {@code ${?AIMOS_...}} overrides, plus the two list
 * settings that HOCON cannot take from one environment variable (comma-separated there).
 */
public final class NodeConfig {
  private NodeConfig() {}

  public static Config load(Config overrides) {
    return load(overrides, System.getenv());
  }

  static Config load(Config overrides, Map<String, String> env) {
    Config lists = ConfigFactory.empty();
    lists = withList(lists, env.get("AIMOS_CASSANDRA_CONTACT_POINTS"), "datastax-java-driver.basic.contact-points");
    lists = withList(lists, env.get("AIMOS_SEED_NODES"), "pekko.cluster.seed-nodes");
    return ConfigFactory.load(overrides.withFallback(lists).withFallback(ConfigFactory.defaultApplication()));
  }

  private static Config withList(Config c, String value, String path) {
    if (value == null || value.isBlank()) {
      return c;
    }
    List<String> items = Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    return c.withValue(path, ConfigValueFactory.fromIterable(items));
  }
}
