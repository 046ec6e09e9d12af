package aimos.node.gateway;

import java.util.concurrent.atomic.AtomicLong;
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
 */
final class MemberChanges implements AskAgain.Losses {
  private static final AtomicLong instances = new AtomicLong();
  private final AtomicLong changes = new AtomicLong();

  private MemberChanges() {}

  static MemberChanges watch(ActorSystem<?> system) {
    MemberChanges watch = new MemberChanges();
    Cluster cluster = Cluster.get(system);
    ActorRef<ClusterEvent.ClusterDomainEvent> counter = system.systemActorOf(
        Behaviors.<ClusterEvent.ClusterDomainEvent>receiveMessage(event -> {
          watch.changes.incrementAndGet();
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
}
