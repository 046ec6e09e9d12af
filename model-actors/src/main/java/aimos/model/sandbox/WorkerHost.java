package aimos.model.sandbox;

import aimos.model.ModelEntity;
import aimos.serialization.KryoSerializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.time.Duration;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * One per node: hosts the sandboxes this node runs. Model entities find hosts through the receptionist and ask each
 * to host their versions; the host starts one supervised sandbox per model version, and reports their state.
 */
public final class WorkerHost {
  public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "aimos-worker-host");

  public sealed interface Command extends KryoSerializable {}

  /** Asks this host to run a version; it answers whether it does (or already did). */
  public record EnsureHosted(String model, ModelEntity.VersionInfo version, ActorRef<HostingReply> replyTo)
      implements Command {}

  public sealed interface HostingReply extends KryoSerializable {}

  public record Hosting(String node) implements HostingReply {}

  public record Refused(String reason) implements HostingReply {}

  /** What a host offers: its device and the device memory it declares (declared, not measured, without a GPU). */
  public record Capacity(String device, int deviceMemoryMb) {}

  /** A sandbox's state, as its supervisor last reported it. */
  public record SandboxStatus(String workerId, String model, String version, String state, long pid, int restarts,
                              int recentFailures, String lastFailure, String pendingFault, int pendingFaultCount)
      implements KryoSerializable {}

  public record StatusChanged(SandboxStatus status) implements Command {}

  public record GetStatus(ActorRef<Statuses> replyTo) implements Command {}

  public record Statuses(List<SandboxStatus> sandboxes) implements KryoSerializable {}

  /** Drills: the sandbox of this model version on this node misbehaves on its next {@code count} requests. */
  public record InjectFault(String model, String version, aimos.internal.sandbox.Fault fault, int count,
                            int delayMillis, ActorRef<Statuses> replyTo) implements Command {}

  /**
   * Stops every sandbox of this host; sent by the node's coordinated shutdown before cluster sharding shuts down, so
   * that no sandbox keeps announcing itself to model entities whose shards are being handed off (a region waits for
   * the messages it buffers for such shards, and would not finish its shutdown).
   */
  private record StopSandboxes(ActorRef<Done> replyTo) implements Command {}

  /** Stops this host's sandbox of a model version (it was retired); one this host does not run: nothing. */
  public record StopHosting(String model, String version) implements Command {}

  private WorkerHost() {}

  public static Behavior<Command> create(SandboxSettings settings, SandboxMonitor monitor) {
    return create(settings, monitor, new Capacity("cpu", 0));
  }

  public static Behavior<Command> create(SandboxSettings settings, SandboxMonitor monitor, Capacity capacity) {
    return Behaviors.setup(ctx -> {
      String node = ctx.getSystem().address().hostPort();
      int[] deviceMemoryUsed = {0};
      ctx.getSystem().receptionist().tell(Receptionist.register(SERVICE_KEY, ctx.getSelf()));
      ActorRef<Command> self = ctx.getSelf();
      var system = ctx.getSystem();
      Cancellable stopTask = CoordinatedShutdown.get(system).addCancellableTask(
          CoordinatedShutdown.PhaseBeforeClusterShutdown(), "stop-sandboxes", () -> AskPattern.<Command, Done>ask(
              self, StopSandboxes::new, Duration.ofSeconds(5), system.scheduler())
              .exceptionally(e -> Done.getInstance()));
      Map<String, ActorRef<Worker.Command>> sandboxes = new HashMap<>();
      Map<String, SandboxStatus> statuses = new TreeMap<>();
      Map<String, Integer> deviceMemoryOf = new HashMap<>();
      return Behaviors.receive(Command.class)
          .onMessage(EnsureHosted.class, m -> {
            String key = m.model() + "@" + m.version().version();
            if (!sandboxes.containsKey(key)) {
              int needs = m.version().deviceMemoryMb();
              if (deviceMemoryUsed[0] + needs > capacity.deviceMemoryMb()) {
                m.replyTo().tell(new Refused("needs " + needs + " MB of device memory; this " + capacity.device()
                    + " host declares " + capacity.deviceMemoryMb() + " MB and " + deviceMemoryUsed[0] + " MB are taken"));
                return Behaviors.same();
              }
              deviceMemoryUsed[0] += needs;
              deviceMemoryOf.put(key, needs);
              sandboxes.put(key, ctx.spawn(
                  SandboxSupervisor.create(m.model(), m.version(), settings, monitor, ctx.getSelf()),
                  "sandbox-" + m.model() + "-" + m.version().version()));
            }
            m.replyTo().tell(new Hosting(node));
            return Behaviors.same();
          })
          .onMessage(StatusChanged.class, m -> {
            String key = m.status().model() + "@" + m.status().version();
            if (sandboxes.containsKey(key)) {
              statuses.put(key, m.status());
            }
            return Behaviors.same();
          })
          .onMessage(StopHosting.class, m -> {
            String key = m.model() + "@" + m.version();
            ActorRef<Worker.Command> sandbox = sandboxes.remove(key);
            if (sandbox != null) {
              ctx.getLog().info("Stopping the sandbox of {} version {}: the version is retired", m.model(),
                  m.version());
              ctx.stop(sandbox);
              deviceMemoryUsed[0] -= deviceMemoryOf.getOrDefault(key, 0);
            }
            deviceMemoryOf.remove(key);
            statuses.remove(key);
            return Behaviors.same();
          })
          .onMessage(GetStatus.class, m -> {
            m.replyTo().tell(new Statuses(new ArrayList<>(statuses.values())));
            return Behaviors.same();
          })
          .onMessage(InjectFault.class, m -> {
            ActorRef<Worker.Command> sandbox = sandboxes.get(m.model() + "@" + m.version());
            List<SandboxStatus> affected = new ArrayList<>();
            if (sandbox != null) {
              sandbox.tell(new Worker.InjectFault(m.fault(), m.count(), m.delayMillis()));
              SandboxStatus s = statuses.get(m.model() + "@" + m.version());
              if (s != null) {
                affected.add(s);
              }
            }
            m.replyTo().tell(new Statuses(affected));
            return Behaviors.same();
          })
          .onMessage(StopSandboxes.class, m -> {
            sandboxes.values().forEach(ctx::stop);
            sandboxes.clear();
            m.replyTo().tell(Done.getInstance());
            return Behaviors.same();
          })
          .onSignal(PostStop.class, signal -> {
            stopTask.cancel();
            return Behaviors.same();
          })
          .build();
    });
  }
}
