package aimos.node.gateway;

import aimos.model.directory.ModelDirectory;
import aimos.tenant.TenantEntity;
import aimos.tenant.directory.TenantDirectory;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's copies of the tenant and model directories, which the gateway consults before it sends anything to a
 * tenant's or a model's entity.
 */
public final class Directories {
  private static final Logger log = LoggerFactory.getLogger(Directories.class);
  /** At most this many directory fetches a second per node and directory, however many unknown names arrive. */
  static final Duration MIN_FETCH_INTERVAL = Duration.ofMillis(20);

  private final KnownNames tenants;
  private final KnownNames models;

  private Directories(KnownNames tenants, KnownNames models) {
    this.tenants = tenants;
    this.models = models;
  }

  public KnownNames tenants() {
    return tenants;
  }

  public KnownNames models() {
    return models;
  }

  public static Directories start(ActorSystem<?> system, Duration timeout) {
    KnownNames tenants = new KnownNames(offset -> TenantDirectory.ref(system)
        .<TenantDirectory.Listing>ask(rt -> new TenantDirectory.Since(offset, rt), timeout)
        .thenApply(l -> new KnownNames.Page(l.ids(), offset + l.ids().size(), l.total())),
        system.scheduler(), system.executionContext(), MIN_FETCH_INTERVAL);
    KnownNames models = new KnownNames(offset -> ModelDirectory.ref(system)
        .<ModelDirectory.Names>ask(ModelDirectory.List_::new, timeout)
        .thenApply(n -> new KnownNames.Page(n.names(), 0, 0)),
        system.scheduler(), system.executionContext(), MIN_FETCH_INTERVAL);
    seedTenants(system, timeout, 1);
    return new Directories(tenants, models);
  }

  /**
   * Lists the tenants whose journals predate the directory, once per cluster: the first node to find the directory
   * unseeded reads the persistence ids of all tenant entities. Tried again later while the directory does not answer.
   */
  private static void seedTenants(ActorSystem<?> system, Duration timeout, int attempt) {
    TenantDirectory.ref(system).<TenantDirectory.Listing>ask(rt -> new TenantDirectory.Since(Integer.MAX_VALUE, rt),
            timeout)
        .thenCompose(listing -> {
          if (listing.seeded()) {
            return java.util.concurrent.CompletableFuture.completedFuture(false);
          }
          String prefix = TenantEntity.ENTITY_KEY.name() + "|";
          return PersistenceQuery.get(system)
              .getReadJournalFor(CassandraReadJournal.class, CassandraReadJournal.Identifier())
              .currentPersistenceIds()
              .filter(id -> id.startsWith(prefix))
              .map(id -> id.substring(prefix.length()))
              .runWith(Sink.seq(), system)
              .thenCompose(ids -> TenantDirectory.ref(system).<org.apache.pekko.Done>ask(
                  rt -> new TenantDirectory.Seed(List.copyOf(ids), rt), timeout.multipliedBy(5)))
              .thenApply(done -> true);
        })
        .whenComplete((seeded, err) -> {
          if (err != null) {
            Duration again = Duration.ofSeconds(Math.min(60, 5L * attempt));
            log.warn("Could not list the existing tenants in the tenant directory ({}); trying again in {} s",
                err.toString(), again.toSeconds());
            system.scheduler().scheduleOnce(again, () -> seedTenants(system, timeout, attempt + 1),
                system.executionContext());
          } else if (seeded) {
            log.info("Listed the existing tenants in the tenant directory");
          }
        });
  }
}
