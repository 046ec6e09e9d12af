package aimos.node.admin;

import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.ExtensionIdProvider;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * What the management server needs from this node, per actor system: the AIMOS routes it serves beside Pekko
 * Management's own, whether the gateway is accepting requests, whether the store answers and whether this node has
 * its copy of the price book (for /ready).
 */
public final class NodeState implements Extension {
  public static final Id ID = new Id();

  public static final class Id extends AbstractExtensionId<NodeState> implements ExtensionIdProvider {
    @Override
    public NodeState createExtension(ExtendedActorSystem system) {
      return new NodeState();
    }

    @Override
    public Id lookup() {
      return ID;
    }
  }

  public static NodeState get(ClassicActorSystemProvider system) {
    return ID.get(system.classicSystem());
  }

  private volatile Route routes = Directives.reject();
  private volatile boolean gatewayBound;
  private volatile java.util.function.BooleanSupplier storeAvailable = () -> true;

  public Route routes() {
    return routes;
  }

  public void installRoutes(Route routes) {
    this.routes = routes;
  }

  public boolean gatewayBound() {
    return gatewayBound;
  }

  public void gatewayBound(boolean bound) {
    this.gatewayBound = bound;
  }

  public boolean ready() {
    return gatewayBound && storeAvailable.getAsBoolean();
  }

  public void store(java.util.function.BooleanSupplier available) {
    this.storeAvailable = available;
  }
}
