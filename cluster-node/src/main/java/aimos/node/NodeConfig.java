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
    Config loaded = ConfigFactory.load(overrides.withFallback(lists).withFallback(ConfigFactory.defaultApplication()));
    return clusterTls(loaded).withFallback(loaded);
  }

  /**
   * With a node certificate, key and CA set in {@code aimos.tls}, Artery runs over tls-tcp with mutual
   * authentication from the same files, reloaded on rotation (Pekko's RotatingKeysSSLEngineProvider: peers must
   * present a certificate from that CA with the same subject as this node's).
   */
  static Config clusterTls(Config c) {
    String cert = c.getString("aimos.tls.certificate-file");
    String key = c.getString("aimos.tls.private-key-file");
    String ca = c.getString("aimos.tls.ca-file");
    if (cert.isEmpty() || key.isEmpty() || ca.isEmpty()) {
      return ConfigFactory.empty();
    }
    String engine = "pekko.remote.artery.ssl.rotating-keys-engine.";
    return ConfigFactory.empty()
        .withValue("pekko.remote.artery.transport", ConfigValueFactory.fromAnyRef("tls-tcp"))
        .withValue("pekko.remote.artery.ssl.ssl-engine-provider",
            ConfigValueFactory.fromAnyRef("org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider"))
        .withValue(engine + "cert-file", ConfigValueFactory.fromAnyRef(cert))
        .withValue(engine + "key-file", ConfigValueFactory.fromAnyRef(key))
        .withValue(engine + "ca-cert-file", ConfigValueFactory.fromAnyRef(ca))
        .withValue(engine + "ssl-context-cache-ttl", ConfigValueFactory.fromAnyRef(
            c.getDuration("aimos.tls.reload-check-interval").toMillis() + "ms"));
  }

  private static Config withList(Config c, String value, String path) {
    if (value == null || value.isBlank()) {
      return c;
    }
    List<String> items = Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    return c.withValue(path, ConfigValueFactory.fromIterable(items));
  }
}
