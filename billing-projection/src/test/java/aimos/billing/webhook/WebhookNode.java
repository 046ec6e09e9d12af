package aimos.billing.webhook;

import aimos.billing.ledger.CassandraLedgerRepository;
import aimos.cassandra.SharedCassandra;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;

/**
 * A one-node cluster running the webhook subsystem on the shared real Cassandra, in a keyspace of the test's: the
 * dispatchers are real sharded daemon processes. Stopping it and starting another on the same keyspace is a node
 * restart as far as the outbox is concerned.
 */
final class WebhookNode implements AutoCloseable {
  final ActorTestKit kit;
  final CassandraSession session;
  final Webhooks webhooks;
  final WebhookSettings settings;

  WebhookNode(String keyspace, String webhookConfig) {
    Config config = ConfigFactory.parseString("""
        pekko.actor.provider = cluster
        pekko.remote.artery.canonical.hostname = "127.0.0.1"
        pekko.remote.artery.canonical.port = 0
        pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
        pekko.coordinated-shutdown.exit-jvm = off
        datastax-java-driver.basic.contact-points = ["%s"]
        datastax-java-driver.basic.load-balancing-policy.local-datacenter = "datacenter1"
        datastax-java-driver.basic.request.timeout = 10s
        # one Cassandra holds every test's keyspaces: a session would re-read all their schema on each change anywhere
        datastax-java-driver.advanced.metadata.schema.enabled = false
        aimos.webhooks.allow-private-targets = on
        """.formatted(SharedCassandra.contactPoint())).withFallback(ConfigFactory.parseString(webhookConfig))
        .withFallback(ConfigFactory.load());
    kit = ActorTestKit.create("webhooks", config);
    ActorSystem<?> system = kit.system();
    Cluster cluster = Cluster.get(system);
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    session = CassandraSessionRegistry.get(system)
        .sessionFor(CassandraSessionSettings.create("pekko.projection.cassandra.session-config"));
    CassandraLedgerRepository.createTables(session, keyspace).toCompletableFuture().join();
    settings = WebhookSettings.from(config.getConfig("aimos.webhooks"));
    aimos.access.privacy.TenantDataKeys.createTables(session, keyspace).toCompletableFuture().join();
    webhooks = Webhooks.start(system, session, keyspace, settings, true, Clock.systemUTC(), WebhookMonitor.NONE,
        new aimos.access.privacy.TenantDataKeys(session, keyspace, java.time.Duration.ofSeconds(5),
            Clock.systemUTC(), System::nanoTime));
  }

  static String keyspace(String name) {
    return name + "_" + System.currentTimeMillis();
  }

  @Override
  public void close() {
    kit.shutdownTestKit();
  }

  static Duration patience() {
    return Duration.ofSeconds(20);
  }
}
