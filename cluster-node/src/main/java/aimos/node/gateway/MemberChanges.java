package aimos.node.gateway;

import aimos.tenant.TenantEntity;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Signs that a message sent to another node may have been lost, as {@link AskAgain} reads them: counts the members
 * that came, went, became unreachable or reachable again. Asking again while a node is unreachable would only send
 * more messages to it; the sign that matters is its removal, after which its shards start elsewhere.
 *
 * <p>It also tells a request that waits on a node (its model runs there) when that node is lost: unreachable, downed
 * or gone. The answer may never come (a killed node, a partition), and waiting for the request's timeout would hold
 * the request id as in progress, refusing the client's retries, for that long.
 */
final class MemberChanges implements AskAgain.Losses {
  private static final AtomicLong instances = new AtomicLong();
  private final AtomicLong changes = new AtomicLong();
  /** Whether the node at an address is lost right now (for a wait that starts after the event). */
  private final Predicate<Address> lostNow;
  private final ConcurrentHashMap<Address, Set<CompletableFuture<Address>>> waiting = new ConcurrentHashMap<>();

  MemberChanges(Predicate<Address> lostNow) {
    this.lostNow = lostNow;
  }

  static MemberChanges watch(ActorSystem<?> system) {
    Cluster cluster = Cluster.get(system);
    MemberChanges watch = new MemberChanges(TenantEntity.departedFrom(cluster));
    ActorRef<ClusterEvent.ClusterDomainEvent> counter = system.systemActorOf(
        Behaviors.<ClusterEvent.ClusterDomainEvent>receiveMessage(event -> {
          watch.changes.incrementAndGet();
          if (event instanceof ClusterEvent.UnreachableMember u) {
            watch.nodeLost(u.member().address());
          } else if (event instanceof ClusterEvent.MemberDowned d) {
            watch.nodeLost(d.member().address());
          } else if (event instanceof ClusterEvent.MemberRemoved r) {
            watch.nodeLost(r.member().address());
          }
          return Behaviors.same();
        }), "gateway-member-changes-" + instances.incrementAndGet(), Props.empty());
    cluster.subscriptions().tell(Subscribe.create(counter.narrow(), ClusterEvent.MemberEvent.class));
    cluster.subscriptions().tell(Subscribe.create(counter.narrow(), ClusterEvent.ReachabilityEvent.class));
    return watch;
  }

  @Override
  public long mark() {
    return changes.get();
  }

  @Override
  public boolean since(long mark) {
    return changes.get() != mark;
  }

  /**
   * Completes (with the address) once the node at {@code address} is lost, at once if it already is; never for this
   * node's own address. Give it back with {@link #forget} when the wait is over.
   */
  CompletableFuture<Address> lost(Address address) {
    CompletableFuture<Address> signal = new CompletableFuture<>();
    if (address.hasLocalScope()) {
      return signal;
    }
    waiting.computeIfAbsent(address, a -> ConcurrentHashMap.newKeySet()).add(signal);
    // an event that came before the registration is seen here instead
    if (lostNow.test(address)) {
      signal.complete(address);
      forget(address, signal);
    }
    return signal;
  }

  void forget(Address address, CompletableFuture<Address> signal) {
    waiting.computeIfPresent(address, (a, signals) -> {
      signals.remove(signal);
      return signals.isEmpty() ? null : signals;
    });
  }

  void nodeLost(Address address) {
    Set<CompletableFuture<Address>> signals = waiting.remove(address);
    if (signals != null) {
      signals.forEach(s -> s.complete(address));
    }
  }

  /** How many nodes have waits registered (for tests: waits given back leave nothing behind). */
  int watchedNodes() {
    return waiting.size();
  }
}
