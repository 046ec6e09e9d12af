package aimos.node.admin;

import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.ExtensionIdProvider;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/**
 * Plugs the AIMOS admin and metrics routes into Pekko Management's server (named in
 * {@code pekko.management.http.routes}). The routes themselves are installed by {@code Main.init}.
 */
public final class ManagementRoutes extends AbstractExtensionId<ManagementRoutes.Provider>
    implements ExtensionIdProvider {
  public static final ManagementRoutes INSTANCE = new ManagementRoutes();

  @Override
  public ManagementRoutes lookup() {
    return INSTANCE;
  }

  @Override
  public Provider createExtension(ExtendedActorSystem system) {
    return new Provider(system);
  }

  public static final class Provider implements ManagementRouteProvider {
    private final ExtendedActorSystem system;

    Provider(ExtendedActorSystem system) {
      this.system = system;
    }

    @Override
    public Route routes(ManagementRouteProviderSettings settings) {
      return NodeState.get(system).routes();
    }
  }
}
