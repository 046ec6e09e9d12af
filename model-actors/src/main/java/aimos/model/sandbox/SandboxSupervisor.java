package aimos.model.sandbox;

import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.TextJob;
import aimos.model.ModelEntity;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Owns one sandbox process serving one model version on this node. It starts the process, announces the worker to
 * the model's entity (and keeps announcing it as a heartbeat), forwards requests, and when the process dies restarts
 * it with exponential backoff. A crash fails only the requests that were running in that process.
 */
public final class SandboxSupervisor extends AbstractBehavior<Worker.Command> {

  private record Ready(int generation, long pid) implements Worker.Command {}

  private record StartFailed(int generation, String why) implements Worker.Command {}

  private record Exited(int generation, int exitCode) implements Worker.Command {}

  private record Restart() implements Worker.Command {}

  private record Heartbeat() implements Worker.Command {}

  public static Behavior<Worker.Command> create(String model, ModelEntity.VersionInfo version,
                                                SandboxSettings settings, SandboxMonitor monitor) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new SandboxSupervisor(ctx, timers, model, version, settings, monitor)));
  }

  private final TimerScheduler<Worker.Command> timers;
  private final String model;
  private final ModelEntity.VersionInfo version;
  private final SandboxSettings settings;
  private final SandboxMonitor monitor;
  private final String workerId;
  private SandboxProcess process;
  private int generation;
  private boolean ready;
  private Duration backoff;
  private long readySinceNanos;

  private SandboxSupervisor(ActorContext<Worker.Command> ctx, TimerScheduler<Worker.Command> timers, String model,
                            ModelEntity.VersionInfo version, SandboxSettings settings, SandboxMonitor monitor) {
    super(ctx);
    this.timers = timers;
    this.model = model;
    this.version = version;
    this.settings = settings;
    this.monitor = monitor;
    this.workerId = Cluster.get(ctx.getSystem()).selfMember().address().hostPort() + "/" + model + "/"
        + version.version();
    this.backoff = settings.backoffMin();
    startProcess();
  }

  @Override
  public Receive<Worker.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Worker.Run.class, this::run)
        .onMessage(Ready.class, this::onReady)
        .onMessage(StartFailed.class, this::onStartFailed)
        .onMessage(Exited.class, this::onExited)
        .onMessage(Restart.class, r -> {
          startProcess();
          return this;
        })
        .onMessage(Heartbeat.class, h -> {
          announce();
          return this;
        })
        .onSignal(PostStop.class, s -> {
          if (process != null) {
            process.close();
          }
          monitor.stateChanged(model, version.version(), SandboxMonitor.State.STOPPED);
          return this;
        })
        .build();
  }

  private void startProcess() {
    int gen = ++generation;
    ready = false;
    monitor.stateChanged(model, version.version(), SandboxMonitor.State.STARTING);
    try {
      process = SandboxProcess.start(settings.launchSpec(settings.workDir().resolve(model).resolve(version.version())),
          version.runtime(), settings.slots());
    } catch (IOException e) {
      getContext().getSelf().tell(new StartFailed(gen, e.getMessage()));
      return;
    }
    SandboxProcess p = process;
    getContext().getLog().info("Sandbox for {} {} starting as pid {}", model, version.version(), p.pid());
    p.onExit().thenRun(() -> getContext().getSelf().tell(new Exited(gen, p.exitCode())));
    p.ping(settings.startTimeout()).whenComplete((pong, err) -> getContext().getSelf().tell(err == null
        ? new Ready(gen, p.pid())
        : new StartFailed(gen, String.valueOf(err))));
  }

  private Behavior<Worker.Command> onReady(Ready r) {
    if (r.generation() != generation) {
      return this;
    }
    ready = true;
    readySinceNanos = System.nanoTime();
    getContext().getLog().info("Sandbox for {} {} is ready (pid {})", model, version.version(), r.pid());
    monitor.stateChanged(model, version.version(), SandboxMonitor.State.READY);
    announce();
    timers.startTimerWithFixedDelay("heartbeat", new Heartbeat(), settings.heartbeat());
    return this;
  }

  private Behavior<Worker.Command> onStartFailed(StartFailed f) {
    if (f.generation() != generation) {
      return this;
    }
    getContext().getLog().warn("Sandbox for {} {} failed to start: {}", model, version.version(), f.why());
    if (process != null) {
      process.close();
    }
    scheduleRestart();
    return this;
  }

  private Behavior<Worker.Command> onExited(Exited e) {
    if (e.generation() != generation) {
      return this;
    }
    getContext().getLog().warn("Sandbox for {} {} exited with code {}; restarting in {} ms", model,
        version.version(), e.exitCode(), nextBackoff().toMillis());
    ready = false;
    timers.cancel("heartbeat");
    ClusterSharding.get(getContext().getSystem()).entityRefFor(ModelEntity.ENTITY_KEY, model)
        .tell(new ModelEntity.WorkerDown(workerId));
    scheduleRestart();
    return this;
  }

  private Duration nextBackoff() {
    // a sandbox that stayed up for a while starts again from the shortest backoff
    if (readySinceNanos != 0 && System.nanoTime() - readySinceNanos > Duration.ofSeconds(30).toNanos()) {
      backoff = settings.backoffMin();
    }
    return backoff;
  }

  private void scheduleRestart() {
    Duration delay = nextBackoff();
    monitor.restarted(model, version.version());
    monitor.stateChanged(model, version.version(), SandboxMonitor.State.RESTARTING);
    timers.startSingleTimer("restart", new Restart(), delay);
    Duration doubled = backoff.multipliedBy(2);
    backoff = doubled.compareTo(settings.backoffMax()) > 0 ? settings.backoffMax() : doubled;
    readySinceNanos = 0;
  }

  private void announce() {
    if (!ready) {
      return;
    }
    ClusterSharding.get(getContext().getSystem()).entityRefFor(ModelEntity.ENTITY_KEY, model)
        .tell(new ModelEntity.RegisterWorker(workerId, version.version(), getContext().getSelf(),
            settings.slots(), Cluster.get(getContext().getSystem()).selfMember().address().toString()));
  }

  private Behavior<Worker.Command> run(Worker.Run r) {
    if (!ready || process == null || !process.isAlive()) {
      r.replyTo().tell(new Worker.Failed(Worker.FailureKind.UNAVAILABLE,
          "the sandbox of model " + model + " version " + version.version() + " is restarting"));
      return this;
    }
    SandboxRequest.Builder req = SandboxRequest.newBuilder()
        .setText(TextJob.newBuilder().setPrompt(r.prompt()).setMaxTokens(r.maxTokens()));
    process.call(req, settings.requestTimeout()).whenComplete((reply, err) ->
        r.replyTo().tell(err == null ? toResult(reply) : toFailure(err)));
    return this;
  }

  private static Worker.Result toResult(SandboxReply reply) {
    if (reply.hasText()) {
      var t = reply.getText();
      return new Worker.Completed(t.getCompletion(), t.getPromptTokens(), t.getCompletionTokens());
    }
    if (reply.hasError()) {
      boolean invalid = "INVALID_INPUT".equals(reply.getError().getKind());
      return new Worker.Failed(invalid ? Worker.FailureKind.INVALID_INPUT : Worker.FailureKind.MODEL_ERROR,
          reply.getError().getMessage());
    }
    return new Worker.Failed(Worker.FailureKind.MODEL_ERROR, "the model returned an empty reply");
  }

  private Worker.Result toFailure(Throwable err) {
    Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    if (cause instanceof TimeoutException) {
      return new Worker.Failed(Worker.FailureKind.DEADLINE, "model " + model + " did not answer within "
          + settings.requestTimeout().toMillis() + " ms");
    }
    return new Worker.Failed(Worker.FailureKind.MODEL_ERROR, "the sandbox of model " + model
        + " failed while running the request: " + cause.getMessage());
  }
}
