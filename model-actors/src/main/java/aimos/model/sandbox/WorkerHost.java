package aimos.model.sandbox;

import aimos.model.ModelEntity;
import aimos.serialization.KryoSerializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * One per node: hosts the sandboxes this node runs. Model entities find hosts through the receptionist and ask each
 * to host their versions; the host starts one supervised sandbox per model version.
 */
public final class WorkerHost {
  public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "aimos-worker-host");

  public sealed interface Command extends KryoSerializable {}

  public record EnsureHosted(String model, ModelEntity.VersionInfo version) implements Command {}

  private WorkerHost() {}

  public static Behavior<Command> create(SandboxSettings settings, SandboxMonitor monitor) {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, ctx.getSelf()));
      Map<String, ActorRef<Worker.Command>> sandboxes = new HashMap<>();
      return Behaviors.receive(Command.class)
          .onMessage(EnsureHosted.class, m -> {
            String key = m.model() + "@" + m.version().version();
            sandboxes.computeIfAbsent(key, k -> ctx.spawn(
                SandboxSupervisor.create(m.model(), m.version(), settings, monitor),
                "sandbox-" + m.model() + "-" + m.version().version()));
            return Behaviors.same();
          })
          .build();
    });
  }
}
