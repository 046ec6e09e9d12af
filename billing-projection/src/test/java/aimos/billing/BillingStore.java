package aimos.billing;

import aimos.billing.ledger.CassandraLedgerRepository;
import aimos.billing.rollup.CassandraRollupRepository;
import aimos.cassandra.SharedCassandra;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;

/**
 * A test's billing tables on the shared real Cassandra, in a keyspace of its own, and a journal keyspace of its own
 * for tests that persist events.
 */
public final class BillingStore implements AutoCloseable {
  public final ActorTestKit testKit;
  public final CassandraSession session;
  public final String keyspace;

  public BillingStore(String name) {
    String contact = SharedCassandra.contactPoint();
    this.keyspace = name + "_" + System.currentTimeMillis();
    this.testKit = ActorTestKit.create(ConfigFactory.parseString("""
        datastax-java-driver.basic.contact-points = ["%s"]
        datastax-java-driver.basic.load-balancing-policy.local-datacenter = "datacenter1"
        datastax-java-driver.basic.request.timeout = 10s
        # one Cassandra holds every test's keyspaces: a session would re-read all their schema on each change anywhere
        datastax-java-driver.advanced.metadata.schema.enabled = false
        pekko.persistence.journal.plugin = "pekko.persistence.cassandra.journal"
        pekko.persistence.snapshot-store.plugin = "pekko.persistence.cassandra.snapshot"
        pekko.persistence.cassandra.journal.keyspace = "%s_journal"
        pekko.persistence.cassandra.journal.keyspace-autocreate = on
        pekko.persistence.cassandra.journal.tables-autocreate = on
        pekko.persistence.cassandra.snapshot.keyspace = "%s_snapshot"
        pekko.persistence.cassandra.snapshot.keyspace-autocreate = on
        pekko.persistence.cassandra.snapshot.tables-autocreate = on
        pekko.persistence.cassandra.events-by-tag.enabled = off
        """.formatted(contact, keyspace, keyspace)).withFallback(ConfigFactory.load()));
    this.session = CassandraSessionRegistry.get(testKit.system())
        .sessionFor(CassandraSessionSettings.create("pekko.projection.cassandra.session-config"));
    CassandraLedgerRepository.createTables(session, keyspace).toCompletableFuture().join();
  }

  public CassandraLedgerRepository ledger(long bucketSize) {
    return new CassandraLedgerRepository(session, keyspace, bucketSize);
  }

  public CassandraRollupRepository rollups() {
    return new CassandraRollupRepository(session, keyspace);
  }

  @Override
  public void close() {
    testKit.shutdownTestKit();
  }
}
