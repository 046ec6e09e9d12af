package aimos.node.admin;

import aimos.internal.sandbox.Fault;
import aimos.model.sandbox.WorkerHost;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/** The sandboxes of every node, reached through each node's worker host. */
public final class SandboxFleet {
  private final ActorSystem<?> system;
  private final Duration timeout;

  public SandboxFleet(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
  }

  public CompletionStage<List<WorkerHost.SandboxStatus>> statuses() {
    return toAll(WorkerHost.GetStatus::new);
  }

  /** Arms a drill fault on every node's sandbox of the model version; returns the sandboxes that took it. */
  public CompletionStage<List<WorkerHost.SandboxStatus>> injectFault(String model, String version, Fault fault,
                                                                    int count, int delayMillis) {
    return toAll(rt -> new WorkerHost.InjectFault(model, version, fault, count, delayMillis, rt));
  }

  private CompletionStage<List<WorkerHost.SandboxStatus>> toAll(
      Function<ActorRef<WorkerHost.Statuses>, WorkerHost.Command> message) {
    return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
            rt -> Receptionist.find(WorkerHost.SERVICE_KEY, rt), timeout, system.scheduler())
        .thenCompose(listing -> {
          List<CompletableFuture<WorkerHost.Statuses>> replies = new ArrayList<>();
          for (ActorRef<WorkerHost.Command> host : listing.getServiceInstances(WorkerHost.SERVICE_KEY)) {
            replies.add(AskPattern.<WorkerHost.Command, WorkerHost.Statuses>ask(host, message::apply, timeout,
                system.scheduler()).toCompletableFuture());
          }
          return CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<WorkerHost.SandboxStatus> all = new ArrayList<>();
            replies.forEach(r -> all.addAll(r.join().sandboxes()));
            return all;
          });
        });
  }
}
