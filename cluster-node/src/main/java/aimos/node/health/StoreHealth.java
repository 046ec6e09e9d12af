package aimos.node.health;

import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the store that journals and meters every inference (Cassandra) answers. A node that cannot meter must not
 * serve: while the store is down the gateway refuses new requests at once with UNAVAILABLE, before any model runs,
 * instead of letting each request wait for a write that cannot happen. A cheap probe read with a short timeout runs
 * every {@code interval}; {@code failuresToDown} failures in a row mark the store down, one success marks it up.
 */
public final class StoreHealth {
  private static final Logger log = LoggerFactory.getLogger(StoreHealth.class);

  private final CassandraSession session;
  private final Duration timeout;
  private final int failuresToDown;
  private final Consumer<Boolean> onChange;
  private final AtomicInteger failures = new AtomicInteger();
  private volatile boolean available = true;
  private volatile long downSinceMillis;

  public StoreHealth(CassandraSession session, Duration timeout, int failuresToDown, Consumer<Boolean> onChange) {
    this.session = session;
    this.timeout = timeout;
    this.failuresToDown = failuresToDown;
    this.onChange = onChange;
  }

  public void schedule(ActorSystem<?> system, Duration interval) {
    system.scheduler().scheduleWithFixedDelay(interval, interval, this::probe, system.executionContext());
  }

  public boolean available() {
    return available;
  }

  /** Milliseconds the store has been down, 0 while it is up. */
  public long downForMillis() {
    return available ? 0 : System.currentTimeMillis() - downSinceMillis;
  }

  void probe() {
    session.selectOne(SimpleStatement.newInstance("SELECT release_version FROM system.local").setTimeout(timeout))
        .whenComplete((row, err) -> {
          if (err == null) {
            failures.set(0);
            if (!available) {
              available = true;
              log.info("Cassandra answers again after {} ms; serving", System.currentTimeMillis() - downSinceMillis);
              onChange.accept(true);
            }
          } else if (failures.incrementAndGet() >= failuresToDown && available) {
            downSinceMillis = System.currentTimeMillis();
            available = false;
            log.warn("Cassandra does not answer ({}); refusing requests until it does", err.toString());
            onChange.accept(false);
          }
        });
  }
}
