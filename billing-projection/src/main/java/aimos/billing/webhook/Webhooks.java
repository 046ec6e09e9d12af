package aimos.billing.webhook;

import aimos.access.privacy.TenantDataKeys;
import java.time.Clock;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * The webhook subsystem of one node: the outbox billing publishes to, endpoint management for the APIs, and this
 * node's share of the cluster's dispatchers.
 */
public final class Webhooks {
  private final WebhookOutbox outbox;
  private final WebhookEndpoints endpoints;
  private final WebhookStore store;

  private Webhooks(WebhookOutbox outbox, WebhookEndpoints endpoints, WebhookStore store) {
    this.outbox = outbox;
    this.endpoints = endpoints;
    this.store = store;
  }

  /** Creates the tables first when {@code createTables} (development and tests), then starts the dispatchers. */
  public static Webhooks start(ActorSystem<?> system, CassandraSession session, String keyspace,
                               WebhookSettings settings, boolean createTables, Clock clock,
                               WebhookMonitor monitor, TenantDataKeys dataKeys) {
    if (createTables) {
      WebhookStore.createTables(session, keyspace).toCompletableFuture().join();
    }
    WebhookStore store = new WebhookStore(session, keyspace, dataKeys);
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    WebhookSender sender = new WebhookSender(store, settings, blocking, clock, system.address().hostPort(),
        monitor);
    WebhookDispatcher.init(system, store, sender, settings, clock);
    return new Webhooks(new WebhookOutbox(store, clock), new WebhookEndpoints(store, settings, blocking, clock), store);
  }

  public WebhookOutbox outbox() {
    return outbox;
  }

  public WebhookEndpoints endpoints() {
    return endpoints;
  }

  public WebhookStore store() {
    return store;
  }
}
