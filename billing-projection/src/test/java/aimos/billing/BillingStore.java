package aimos.billing;

import aimos.billing.ledger.CassandraLedgerRepository;
import aimos.billing.rollup.CassandraRollupRepository;
import aimos.cassandra.SharedCassandra;
import aimos.tenant.TenantEntity;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
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

  /** Writes given events to a tenant's journal. */
  private record Write(List<TenantEntity.Event> events, ActorRef<Done> replyTo) {}

  private final Map<String, ActorRef<Write>> writers = new ConcurrentHashMap<>();

  /**
   * Appends events to a tenant's journal (sequence numbers go on from the last append), as its entity would: one
   * writer per tenant, kept for the next append.
   */
  public void append(String tenant, List<TenantEntity.Event> events) {
    var writer = writers.computeIfAbsent(tenant, t -> testKit.spawn(journal(t)));
    var probe = testKit.<Done>createTestProbe();
    writer.tell(new Write(events, probe.getRef()));
    probe.expectMessage(Duration.ofSeconds(20), Done.getInstance());
  }

  private static Behavior<Write> journal(String tenant) {
    return new EventSourcedBehavior<Write, TenantEntity.Event, Integer>(
        PersistenceId.ofUniqueId(TenantEntity.persistenceIdOf(tenant))) {
      @Override
      public Integer emptyState() {
        return 0;
      }

      @Override
      public CommandHandler<Write, TenantEntity.Event, Integer> commandHandler() {
        return newCommandHandlerBuilder().forAnyState().onCommand(Write.class,
            w -> Effect().persist(w.events()).thenRun(s -> w.replyTo().tell(Done.getInstance()))).build();
      }

      @Override
      public EventHandler<Integer, TenantEntity.Event> eventHandler() {
        return newEventHandlerBuilder().forAnyState().onAnyEvent((s, e) -> s + 1);
      }
    };
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
