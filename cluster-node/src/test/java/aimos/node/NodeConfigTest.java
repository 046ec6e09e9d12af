package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
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
  void cassandraAuthenticationAndTlsComeFromTheEnvironmentWithThePasswordFromAFile() throws Exception {
    var none = NodeConfig.load(ConfigFactory.empty(), Map.of());
    assertFalse(none.hasPath("datastax-java-driver.advanced.auth-provider.username"));
    var passwordFile = java.nio.file.Files.createTempFile("cassandra", ".password");
    java.nio.file.Files.writeString(passwordFile, "s3cret-from-file\n");
    var truststore = java.nio.file.Files.createTempFile("cassandra", ".p12");
    var c = NodeConfig.load(ConfigFactory.empty(), Map.of("AIMOS_CASSANDRA_USERNAME", "aimos",
        "AIMOS_CASSANDRA_PASSWORD_FILE", passwordFile.toString(), "AIMOS_CASSANDRA_TRUSTSTORE", truststore.toString()));
    assertEquals("PlainTextAuthProvider", c.getString("datastax-java-driver.advanced.auth-provider.class"));
    assertEquals("aimos", c.getString("datastax-java-driver.advanced.auth-provider.username"));
    assertEquals("s3cret-from-file", c.getString("datastax-java-driver.advanced.auth-provider.password"));
    assertEquals("DefaultSslEngineFactory", c.getString("datastax-java-driver.advanced.ssl-engine-factory.class"));
    assertEquals(truststore.toString(),
        c.getString("datastax-java-driver.advanced.ssl-engine-factory.truststore-path"));
    assertTrue(c.getBoolean("datastax-java-driver.advanced.ssl-engine-factory.hostname-validation"));
    // refused with what to do: a user without a password, a truststore that is not there
    var noPassword = assertThrows(IllegalArgumentException.class, () -> NodeConfig.load(ConfigFactory.empty(),
        Map.of("AIMOS_CASSANDRA_USERNAME", "aimos")));
    assertTrue(noPassword.getMessage().contains("AIMOS_CASSANDRA_PASSWORD_FILE"), noPassword.getMessage());
    var missing = assertThrows(IllegalArgumentException.class, () -> NodeConfig.load(ConfigFactory.empty(),
        Map.of("AIMOS_CASSANDRA_TRUSTSTORE", "/no/such/truststore.p12")));
    assertTrue(missing.getMessage().contains("/no/such/truststore.p12"), missing.getMessage());
  }

  @Test
  void aWeakConfiguredTokenStopsTheNodeWithAMessageThatSaysHowToMakeOne() {
    for (String weak : List.of("change-me", "local-admin-token", "adm_0123456789")) {
      var c = NodeConfig.load(ConfigFactory.parseMap(Map.of("aimos.admin.token", weak)), Map.of());
      var e = assertThrows(IllegalArgumentException.class, () -> NodeSettings.from(c));
      assertTrue(e.getMessage().startsWith("aimos.admin.token (AIMOS_ADMIN_TOKEN)"), e.getMessage());
      assertTrue(e.getMessage().contains("openssl rand -base64 32"), e.getMessage());
    }
    var secops = NodeConfig.load(ConfigFactory.parseMap(Map.of("aimos.secops.token", "change-me")), Map.of());
    assertThrows(IllegalArgumentException.class, () -> NodeSettings.from(secops));
    var strong = NodeConfig.load(ConfigFactory.parseMap(Map.of("aimos.admin.token",
        "k3J9x2Qv7LmP0aZt5WcR8yHn1BdF6gUe4SoXiV")), Map.of());
    assertEquals("k3J9x2Qv7LmP0aZt5WcR8yHn1BdF6gUe4SoXiV", NodeSettings.from(strong).adminToken());
  }

  @Test
  void sandboxJvmOptionsCannotLoadARuntimeClassByName() {
    var c = NodeConfig.load(ConfigFactory.parseString(
        "aimos.sandbox.jvm-options = [\"-Daimos.sandbox.extra-runtime=escape-probe=aimos.model.sandbox.EscapeProbe\"]"),
        Map.of());
    var e = assertThrows(IllegalArgumentException.class, () -> Main.sandboxSettings(c));
    assertTrue(e.getMessage().contains("may not set aimos.sandbox.extra-runtime"), e.getMessage());
  }

  @Test
  void usageCanReachTheRollupsWithinTwoSecondsOfTheAnswer() {
    var c = NodeConfig.load(ConfigFactory.empty(), Map.of());
    var feed = aimos.billing.projection.UsageFeed.Settings.from(c.getConfig("aimos.billing.feed"));
    // the latest a usage event is read: written just after its tenant's notice (held back by the notice gap), it is
    // read at the recheck, recheck-after the notice, on the first pass tick after that
    Duration latest = feed.recheckAfter().plus(feed.passInterval());
    assertTrue(feed.recheckAfter().compareTo(aimos.tenant.UsageNotices.GAP) > 0);
    Duration budget = latest.plusMillis(500);
    assertTrue(budget.compareTo(Duration.ofSeconds(2)) <= 0, "with 500 ms for the reads and writes: " + budget);
  }

  @Test
  void theTagQuerysBackTrackReadsABoundedWindowWhateverTheHistory() {
    var c = NodeConfig.load(ConfigFactory.empty(), Map.of());
    String bt = "pekko.persistence.cassandra.events-by-tag.back-track.";
    // "max" (the library's default) scans back to the start of the previous hour bucket: rows read per scan grow
    // with the hour's history instead of with the window
    Duration interval = c.getDuration(bt + "interval");
    Duration period = c.getDuration(bt + "period");
    Duration longInterval = c.getDuration(bt + "long-interval");
    Duration longPeriod = c.getDuration(bt + "long-period");
    // each scan covers the time since the one before it, so no window goes unscanned
    assertTrue(period.compareTo(interval) >= 0, period + " must cover the interval " + interval);
    assertTrue(longPeriod.compareTo(longInterval) >= 0, longPeriod + " must cover " + longInterval);
    // about two re-reads of each event: period / interval + long period / long interval
    double rereads = (double) period.toMillis() / interval.toMillis()
        + (double) longPeriod.toMillis() / longInterval.toMillis();
    assertTrue(rereads <= 2.5, "each event is re-read " + rereads + " times");
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
  void bothServersThrottleHttp2ResetsAndEndIdleConnectionsAfterBodiesHadTheirTime() {
    var c = NodeConfig.load(ConfigFactory.empty(), Map.of());
    // the gateway binds with these; Pekko Management binds the management port with pekko.http.server's own
    var gateway = Main.gatewayServerSettings(c);
    var management = org.apache.pekko.http.javadsl.settings.ServerSettings.create(c);
    for (var s : List.of(gateway, management)) {
      assertTrue(s.getHttp2Settings().getFrameTypeThrottleFrameTypes().contains("reset"), "CVE-2023-44487");
      assertTrue(s.getHttp2Settings().getFrameTypeThrottleCost() <= 1000);
    }
    Duration gatewayIdle = toJava(gateway.getTimeouts().idleTimeout());
    Duration managementIdle = toJava(management.getTimeouts().idleTimeout());
    // the gateway's connections stay open while the slowest model answers, and no longer than that idle
    assertTrue(gatewayIdle.compareTo(c.getDuration("aimos.gateway.idle-timeout")) >= 0);
    assertTrue(toJava(gateway.getTimeouts().requestTimeout())
        .compareTo(NodeSettings.from(c).serverRequestTimeout()) >= 0);
    assertEquals(Duration.ofSeconds(60), managementIdle);
    // a stalled body gets its 408 before the connection is dropped without an answer
    assertTrue(c.getDuration("aimos.gateway.body-timeout").compareTo(gatewayIdle) < 0);
    assertTrue(c.getDuration("aimos.management.body-timeout").compareTo(managementIdle) < 0);
    assertTrue(toJava(gateway.getTimeouts().requestTimeout()).compareTo(gatewayIdle) < 0);
  }

  @Test
  void userAgentsOutsideTheGrammarAreAcceptedWithoutAWarningPerRequest() {
    var c = NodeConfig.load(ConfigFactory.empty(), Map.of());
    for (var s : List.of(Main.gatewayServerSettings(c), org.apache.pekko.http.javadsl.settings.ServerSettings.create(c))) {
      assertTrue(s.getParserSettings().getIgnoreIllegalHeaderFor().contains("user-agent"));
    }
  }

  private static Duration toJava(scala.concurrent.duration.Duration d) {
    return Duration.ofNanos(d.toNanos());
  }

  @Test
  void refusesAnUnknownClusterFormation() {
    var c = NodeConfig.load(ConfigFactory.parseString("aimos.cluster-formation = dns"), Map.of());
    var e = assertThrows(IllegalArgumentException.class, () -> NodeSettings.from(c));
    assertEquals("aimos.cluster-formation must be seed-nodes or kubernetes, was dns", e.getMessage());
  }
}
