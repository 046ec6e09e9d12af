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
    Config loaded = ConfigFactory.load(overrides.withFallback(lists).withFallback(cassandraAccess(env))
        .withFallback(ConfigFactory.defaultApplication()));
    return clusterTls(loaded).withFallback(loaded);
  }

  /**
   * Cassandra authentication and client TLS from the environment, for every session of the node (journal,
   * snapshots, projections, billing): {@code AIMOS_CASSANDRA_USERNAME} with {@code AIMOS_CASSANDRA_PASSWORD_FILE}
   * (or {@code AIMOS_CASSANDRA_PASSWORD}), and {@code AIMOS_CASSANDRA_TRUSTSTORE} (PKCS#12 or JKS, with
   * {@code AIMOS_CASSANDRA_TRUSTSTORE_PASSWORD_FILE} when it has a password), which also checks the server's host
   * name. The driver's own settings in a config file do the same.
   */
  static Config cassandraAccess(Map<String, String> env) {
    Config c = ConfigFactory.empty();
    String user = env.getOrDefault("AIMOS_CASSANDRA_USERNAME", "");
    if (!user.isBlank()) {
      String password = secret(env, "AIMOS_CASSANDRA_PASSWORD");
      if (password.isEmpty()) {
        throw new IllegalArgumentException("AIMOS_CASSANDRA_USERNAME is set but no password: put it in a file "
            + "readable by the node only and set AIMOS_CASSANDRA_PASSWORD_FILE to its path");
      }
      String auth = "datastax-java-driver.advanced.auth-provider.";
      c = c.withValue(auth + "class", ConfigValueFactory.fromAnyRef("PlainTextAuthProvider"))
          .withValue(auth + "username", ConfigValueFactory.fromAnyRef(user))
          .withValue(auth + "password", ConfigValueFactory.fromAnyRef(password));
    }
    String truststore = env.getOrDefault("AIMOS_CASSANDRA_TRUSTSTORE", "");
    if (!truststore.isBlank()) {
      if (!java.nio.file.Files.isReadable(java.nio.file.Path.of(truststore))) {
        throw new IllegalArgumentException("AIMOS_CASSANDRA_TRUSTSTORE " + truststore + " cannot be read");
      }
      String ssl = "datastax-java-driver.advanced.ssl-engine-factory.";
      c = c.withValue(ssl + "class", ConfigValueFactory.fromAnyRef("DefaultSslEngineFactory"))
          .withValue(ssl + "truststore-path", ConfigValueFactory.fromAnyRef(truststore))
          .withValue(ssl + "hostname-validation", ConfigValueFactory.fromAnyRef(true));
      String password = secret(env, "AIMOS_CASSANDRA_TRUSTSTORE_PASSWORD");
      if (!password.isEmpty()) {
        c = c.withValue(ssl + "truststore-password", ConfigValueFactory.fromAnyRef(password));
      }
    }
    return c;
  }

  /** {@code NAME_FILE}'s content (its first line) or {@code NAME}'s value, or "". */
  private static String secret(Map<String, String> env, String name) {
    String file = env.getOrDefault(name + "_FILE", "");
    if (!file.isBlank()) {
      try {
        return java.nio.file.Files.readString(java.nio.file.Path.of(file)).lines().findFirst().orElse("").strip();
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException(name + "_FILE " + file + " cannot be read (" + e.getClass().getSimpleName()
            + ")");
      }
    }
    return env.getOrDefault(name, "");
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
