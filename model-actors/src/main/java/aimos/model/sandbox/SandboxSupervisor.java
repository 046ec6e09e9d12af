package aimos.model.sandbox;

import aimos.internal.sandbox.Fault;
import aimos.internal.sandbox.SandboxReply;
import aimos.internal.sandbox.SandboxRequest;
import aimos.internal.sandbox.EmbedJob;
import aimos.internal.sandbox.TextJob;
import aimos.model.ModelEntity;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
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
 * Owns one sandbox process serving one model version on this node, and contains its misbehaviour:
 * <ul>
 *   <li>crash, or killed by its memory cap: restarted with exponential backoff;</li>
 *   <li>hang (a request past its deadline, or no health ping answered for {@link SandboxSettings#hangAfter}): killed
 *       and restarted. Pings are answered by a thread of the sandbox that no request holds up, and a late answer
 *       still counts: a sandbox busy on every model thread, or paused by its CPU cap or its garbage collector, is
 *       alive;</li>
 *   <li>garbage or oversized output: that request fails with the reason, the process is recycled;</li>
 *   <li>{@code quarantineAfter} failures within {@code failureWindow}: quarantined (no worker announced, so no new
 *       leases), then probed every {@code probeInterval} until a probe request succeeds.</li>
 * </ul>
 * Only requests running in this process fail; the node and other models go on.
 */
public final class SandboxSupervisor extends AbstractBehavior<Worker.Command> {

  public enum State { STARTING, READY, RESTARTING, QUARANTINED, PROBING, STOPPED }

  private record Ready(int generation, long pid) implements Worker.Command {}

  private record StartFailed(int generation, String why) implements Worker.Command {}

  private record Exited(int generation, int exitCode, String reason) implements Worker.Command {}

  private record Restart() implements Worker.Command {}

  private record Heartbeat() implements Worker.Command {}

  private record PingTick() implements Worker.Command {}

  private record PingAnswered(int generation, boolean ok) implements Worker.Command {}

  private record Misbehaved(int generation, String reason) implements Worker.Command {}

  private record ProbeDone(int generation, boolean ok, String detail) implements Worker.Command {}

  public static Behavior<Worker.Command> create(String model, ModelEntity.VersionInfo version,
                                                SandboxSettings settings, SandboxMonitor monitor,
                                                ActorRef<WorkerHost.Command> host) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new SandboxSupervisor(ctx, timers, model, version, settings, monitor, host)));
  }

  private final TimerScheduler<Worker.Command> timers;
  private final String model;
  private final ModelEntity.VersionInfo version;
  private final SandboxSettings settings;
  private final SandboxMonitor monitor;
  private final ActorRef<WorkerHost.Command> host;
  private final String workerId;
  private final String sandboxId;
  private final ArrayDeque<Long> failures = new ArrayDeque<>();
  private SandboxProcess process;
  private int generation;
  private State state = State.STARTING;
  private Duration backoff;
  private long readySinceNanos;
  /** When the current process last answered a health ping (or became ready). */
  private long lastPongNanos;
  private boolean pingInFlight;
  private int restarts;
  private Fault pendingFault = Fault.FAULT_NONE;
  private int pendingFaultCount;
  private int pendingFaultDelayMillis;
  private String lastFailure = "";
  /** Drills: until then the worker sends no heartbeat, as if its node had stopped renewing it. */
  private long silentUntilNanos;
  /** A process that failed is handled once, however many signs of it arrive (start failure, then exit). */
  private int failedGeneration;

  private SandboxSupervisor(ActorContext<Worker.Command> ctx, TimerScheduler<Worker.Command> timers, String model,
                            ModelEntity.VersionInfo version, SandboxSettings settings, SandboxMonitor monitor,
                            ActorRef<WorkerHost.Command> host) {
    super(ctx);
    this.timers = timers;
    this.model = model;
    this.version = version;
    this.settings = settings.forRuntime(version.runtime());
    this.monitor = monitor;
    this.host = host;
    var self = Cluster.get(ctx.getSystem()).selfMember().address();
    this.workerId = self.hostPort() + "/" + model + "/" + version.version();
    this.sandboxId = "n" + ProcessHandle.current().pid() + "-" + self.port().getOrElse(() -> 0) + "-" + model + "-"
        + version.version();
    this.backoff = settings.backoffMin();
    startProcess(State.STARTING);
  }

  @Override
  public Receive<Worker.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Worker.Run.class, this::run)
        .onMessage(Ready.class, this::onReady)
        .onMessage(StartFailed.class, f -> onFailure(f.generation(), "failed to start: " + f.why()))
        .onMessage(Exited.class, this::onExited)
        .onMessage(Restart.class, r -> {
          startProcess(state == State.QUARANTINED ? State.PROBING : State.STARTING);
          return this;
        })
        .onMessage(Heartbeat.class, h -> {
          announce();
          return this;
        })
        .onMessage(PingTick.class, t -> ping())
        .onMessage(PingAnswered.class, this::onPing)
        .onMessage(Misbehaved.class, m -> {
          if (m.generation() == generation && process != null && process.fault().isEmpty()) {
            getContext().getLog().warn("Sandbox {} {}: {}; killing pid {}", model, version.version(), m.reason(),
                process.pid());
            process.kill(m.reason());
          }
          return this;
        })
        .onMessage(ProbeDone.class, this::onProbe)
        .onMessage(Worker.InjectFault.class, this::injectFault)
        .onSignal(PostStop.class, s -> {
          // without blocking the actor: the cgroup goes once the process has left it
          String id = sandboxId;
          var isolation = settings.isolation();
          if (process != null) {
            process.stop().whenComplete((v, e) -> isolation.release(id));
          } else {
            isolation.release(id);
          }
          transition(State.STOPPED);
          return this;
        })
        .build();
  }

  // ---- lifecycle ----

  private void startProcess(State starting) {
    int gen = ++generation;
    transition(starting);
    pingInFlight = false;
    try {
      var spec = settings.launchSpec(settings.workDir().resolve(model).resolve(version.version()));
      var launch = settings.isolation().launch(sandboxId, spec, version.runtime());
      try {
        process = launch.started(SandboxProcess.start(launch.spec(), launch.wrapper(),
            settings.isolation().containment().kind() != SandboxContainment.Kind.NONE, version.runtime(),
            settings.slots(), settings.maxReplyBytes()));
      } catch (IOException e) {
        launch.close();
        throw e;
      }
    } catch (IOException e) {
      getContext().getSelf().tell(new StartFailed(gen, e.getMessage()));
      return;
    }
    SandboxProcess p = process;
    getContext().getLog().info("Sandbox {} {} starting as pid {}", model, version.version(), p.pid());
    p.onExit().thenRun(() -> getContext().getSelf().tell(new Exited(gen, p.exitCode(), p.fault())));
    p.ping(settings.startTimeout()).whenComplete((pong, err) -> getContext().getSelf().tell(err == null
        ? new Ready(gen, p.pid())
        : new StartFailed(gen, String.valueOf(err))));
  }

  private Behavior<Worker.Command> onReady(Ready r) {
    if (r.generation() != generation) {
      return this;
    }
    if (state == State.PROBING) {
      // a quarantined sandbox serves again only once it answers a real request correctly
      int gen = generation;
      process.call(aimos.model.runtime.ModelRuntimes.probe(version.runtime()), settings.requestTimeout())
          .whenComplete((reply, err) -> getContext().getSelf().tell(err == null
              && !(toResult(reply) instanceof Worker.Failed)
              ? new ProbeDone(gen, true, "")
              : new ProbeDone(gen, false, err != null ? String.valueOf(err) : "unexpected reply " + reply)));
      return this;
    }
    serve(r.pid());
    return this;
  }

  private void serve(long pid) {
    readySinceNanos = System.nanoTime();
    lastPongNanos = readySinceNanos;
    transition(State.READY);
    getContext().getLog().info("Sandbox {} {} is ready (pid {})", model, version.version(), pid);
    announce();
    timers.startTimerWithFixedDelay("heartbeat", new Heartbeat(), settings.heartbeat());
    timers.startTimerWithFixedDelay("ping", new PingTick(), settings.pingInterval());
  }

  private Behavior<Worker.Command> onProbe(ProbeDone p) {
    if (p.generation() != generation) {
      return this;
    }
    if (p.ok()) {
      getContext().getLog().info("Sandbox {} {} passed its probe: back in service", model, version.version());
      failures.clear();
      serve(process.pid());
      return this;
    }
    getContext().getLog().warn("Sandbox {} {} failed its probe: {}", model, version.version(), p.detail());
    process.kill("failed its probe: " + p.detail());
    return this;
  }

  private Behavior<Worker.Command> onExited(Exited e) {
    if (e.generation() != generation) {
      return this;
    }
    String reason = e.reason().isEmpty() ? "exited with code " + e.exitCode() + exitHint(e.exitCode()) : e.reason();
    return onFailure(e.generation(), reason);
  }

  private static String exitHint(int code) {
    return switch (code) {
      case 3 -> " (out of heap memory)";
      case 137 -> " (killed: memory cap or SIGKILL)";
      case 134 -> " (aborted)";
      default -> "";
    };
  }

  private Behavior<Worker.Command> onFailure(int gen, String reason) {
    if (gen != generation || gen == failedGeneration || state == State.STOPPED) {
      return this;
    }
    failedGeneration = gen;
    timers.cancel("heartbeat");
    timers.cancel("ping");
    if (process != null) {
      process.kill(reason);
    }
    ClusterSharding.get(getContext().getSystem()).entityRefFor(ModelEntity.ENTITY_KEY, model)
        .tell(new ModelEntity.WorkerDown(workerId));
    lastFailure = reason;
    restarts++;
    monitor.restarted(model, version.version());
    long now = System.nanoTime();
    failures.addLast(now);
    while (!failures.isEmpty() && now - failures.peekFirst() > settings.failureWindow().toNanos()) {
      failures.removeFirst();
    }
    if (state == State.PROBING || state == State.QUARANTINED || failures.size() >= settings.quarantineAfter()) {
      getContext().getLog().warn("Sandbox {} {} {} ({} failures within {} s): quarantined, next probe in {} ms",
          model, version.version(), reason, failures.size(), settings.failureWindow().toSeconds(),
          settings.probeInterval().toMillis());
      transition(State.QUARANTINED);
      timers.startSingleTimer("restart", new Restart(), settings.probeInterval());
      return this;
    }
    Duration delay = nextBackoff();
    getContext().getLog().warn("Sandbox {} {} {}; restarting in {} ms", model, version.version(), reason,
        delay.toMillis());
    transition(State.RESTARTING);
    timers.startSingleTimer("restart", new Restart(), delay);
    return this;
  }

  private Duration nextBackoff() {
    // a sandbox that stayed up for a while starts again from the shortest backoff
    if (readySinceNanos != 0 && System.nanoTime() - readySinceNanos > Duration.ofSeconds(30).toNanos()) {
      backoff = settings.backoffMin();
    }
    Duration delay = backoff;
    Duration doubled = backoff.multipliedBy(2);
    backoff = doubled.compareTo(settings.backoffMax()) > 0 ? settings.backoffMax() : doubled;
    readySinceNanos = 0;
    return delay;
  }

  private void transition(State next) {
    state = next;
    monitor.stateChanged(model, version.version(), toMonitorState(next));
    host.tell(new WorkerHost.StatusChanged(status()));
  }

  private static SandboxMonitor.State toMonitorState(State s) {
    return SandboxMonitor.State.valueOf(s.name());
  }

  WorkerHost.SandboxStatus status() {
    return new WorkerHost.SandboxStatus(workerId, model, version.version(), state.name(),
        process == null ? -1 : process.pid(), restarts, failures.size(), lastFailure,
        pendingFault == Fault.FAULT_NONE ? "" : pendingFault.name(), pendingFaultCount);
  }

  // ---- health ----

  /**
   * Sends a health ping unless one is still out (a stalled process is not sent a pile of them), and judges liveness
   * by the last answer, however late it came.
   */
  private Behavior<Worker.Command> ping() {
    if (state != State.READY || process == null) {
      return this;
    }
    Duration silent = Duration.ofNanos(System.nanoTime() - lastPongNanos);
    if (silent.compareTo(settings.hangAfter()) > 0) {
      getContext().getSelf().tell(new Misbehaved(generation, "hung: no health ping answered for "
          + silent.toMillis() + " ms"));
      return this;
    }
    if (pingInFlight) {
      return this;
    }
    pingInFlight = true;
    int gen = generation;
    process.ping(settings.hangAfter()).whenComplete((pong, err) ->
        getContext().getSelf().tell(new PingAnswered(gen, err == null)));
    return this;
  }

  private Behavior<Worker.Command> onPing(PingAnswered p) {
    if (p.generation() != generation) {
      return this;
    }
    pingInFlight = false;
    if (p.ok()) {
      lastPongNanos = System.nanoTime();
    }
    return this;
  }

  private void announce() {
    if (state != State.READY || System.nanoTime() - silentUntilNanos < 0) {
      return;
    }
    ClusterSharding.get(getContext().getSystem()).entityRefFor(ModelEntity.ENTITY_KEY, model)
        .tell(new ModelEntity.RegisterWorker(workerId, version.version(), getContext().getSelf(),
            settings.slots(), Cluster.get(getContext().getSystem()).selfMember().address().toString()));
  }

  // ---- requests ----

  private Behavior<Worker.Command> injectFault(Worker.InjectFault f) {
    if (f.fault() == Fault.SILENT_WORKER) {
      silentUntilNanos = System.nanoTime() + f.delayMillis() * 1_000_000L;
      getContext().getLog().warn("Sandbox {} {}: drill silences its worker heartbeats for {} ms", model,
          version.version(), f.delayMillis());
      return this;
    }
    pendingFault = f.fault();
    pendingFaultCount = f.count();
    pendingFaultDelayMillis = f.delayMillis();
    getContext().getLog().warn("Sandbox {} {}: drill will inject {} into its next {} requests", model,
        version.version(), f.fault(), f.count());
    host.tell(new WorkerHost.StatusChanged(status()));
    return this;
  }

  private Behavior<Worker.Command> run(Worker.Run r) {
    if (state != State.READY || process == null || !process.isAlive()) {
      r.replyTo().tell(new Worker.Failed(Worker.FailureKind.UNAVAILABLE,
          "the sandbox of model " + model + " version " + version.version() + " is " + state.name().toLowerCase()));
      return this;
    }
    SandboxRequest.Builder req = SandboxRequest.newBuilder();
    if (r.job() instanceof Worker.TextJob t) {
      req.setText(TextJob.newBuilder().setPrompt(t.prompt()).setMaxTokens(t.maxTokens()).setStream(r.stream() != null));
    } else if (r.job() instanceof Worker.EmbedJob e) {
      req.setEmbed(EmbedJob.newBuilder().addAllInputs(e.inputs()));
    } else if (r.job() instanceof Worker.AudioJob a) {
      req.setAudio(aimos.internal.sandbox.AudioJob.newBuilder().setData(com.google.protobuf.ByteString.copyFrom(a.data()))
          .setGrammar(a.grammar()));
    } else if (r.job() instanceof Worker.ImageJob i) {
      req.setImage(aimos.internal.sandbox.ImageJob.newBuilder().setData(com.google.protobuf.ByteString.copyFrom(i.data())));
    }
    if (pendingFaultCount > 0) {
      req.setFault(pendingFault).setFaultDelayMs(pendingFaultDelayMillis);
      if (--pendingFaultCount == 0) {
        pendingFault = Fault.FAULT_NONE;
      }
    }
    int gen = generation;
    process.call(req, settings.requestTimeout(), r.stream() == null ? null
        : piece -> r.stream().tell(new Worker.Chunk(piece))).whenComplete((reply, err) -> {
      if (r.stream() != null && err == null && !reply.hasError()) {
        // a failed run leaves the stream open: a fallback model may go on with it (the gateway ends it otherwise)
        r.stream().tell(new Worker.StreamEnd());
      }
      Worker.Result result = err == null ? toResult(reply) : toFailure(err, gen);
      if (err != null && unwrap(err) instanceof TimeoutException) {
        getContext().getSelf().tell(new Misbehaved(gen, "hung: a request passed its "
            + settings.requestTimeout().toMillis() + " ms deadline"));
      } else if (err == null && reply.hasText() && !validTokens(reply)) {
        getContext().getSelf().tell(new Misbehaved(gen, "garbage output: negative token counts"));
      }
      r.replyTo().tell(result);
    });
    return this;
  }

  private static boolean validTokens(SandboxReply reply) {
    return reply.getText().getPromptTokens() >= 0 && reply.getText().getCompletionTokens() >= 0;
  }

  private Worker.Result toResult(SandboxReply reply) {
    if (reply.hasText()) {
      var t = reply.getText();
      if (!validTokens(reply)) {
        return new Worker.Failed(Worker.FailureKind.MODEL_ERROR, "model " + model + " returned garbage (negative "
            + "token counts); nothing was billed");
      }
      return new Worker.Completed(t.getCompletion(), t.getPromptTokens(), t.getCompletionTokens());
    }
    if (reply.hasEmbedding()) {
      var e = reply.getEmbedding();
      if (e.getTokens() < 0) {
        return new Worker.Failed(Worker.FailureKind.MODEL_ERROR, "model " + model + " returned garbage (negative "
            + "token count); nothing was billed");
      }
      java.util.List<float[]> vectors = new java.util.ArrayList<>(e.getVectorsCount());
      for (var v : e.getVectorsList()) {
        float[] values = new float[v.getValuesCount()];
        for (int i = 0; i < values.length; i++) {
          values[i] = v.getValues(i);
        }
        vectors.add(values);
      }
      return new Worker.Embedded(vectors, e.getTokens());
    }
    if (reply.hasTranscript()) {
      if (reply.getTranscript().getAudioMillis() <= 0) {
        return new Worker.Failed(Worker.FailureKind.MODEL_ERROR, "model " + model + " returned garbage (no audio "
            + "duration); nothing was billed");
      }
      return new Worker.Transcribed(reply.getTranscript().getText(), reply.getTranscript().getAudioMillis());
    }
    if (reply.hasImage()) {
      var i = reply.getImage();
      return new Worker.Seen(i.getLabelsList().stream().map(l -> new Worker.Label(l.getLabel(), l.getScore())).toList(),
          i.getText(), i.getConfidence());
    }
    if (reply.hasError()) {
      boolean invalid = "INVALID_INPUT".equals(reply.getError().getKind());
      return new Worker.Failed(invalid ? Worker.FailureKind.INVALID_INPUT : Worker.FailureKind.MODEL_ERROR,
          reply.getError().getMessage());
    }
    return new Worker.Failed(Worker.FailureKind.MODEL_ERROR, "model " + model + " returned an empty reply");
  }

  private static Throwable unwrap(Throwable err) {
    return err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
  }

  /** A request lost with its sandbox process (hung or died): one incident for all the requests of that process. */
  private static final org.slf4j.Logger FAILURES = org.slf4j.LoggerFactory.getLogger(SandboxSupervisor.class);

  private Worker.Result toFailure(Throwable err, int gen) {
    Throwable cause = unwrap(err);
    String incident = workerId + "#" + gen;
    if (cause instanceof TimeoutException) {
      return new Worker.Failed(Worker.FailureKind.DEADLINE, "model " + model + " did not answer within "
          + settings.requestTimeout().toMillis() + " ms; its sandbox is restarted", incident);
    }
    // the process's own reasons are worded for callers (no pid, no library text; those go to the node's log); an
    // unexpected one is not (this runs on the process's reply thread, not the actor's: no ActorContext here)
    boolean worded = cause instanceof SandboxProcess.SandboxDied || cause instanceof SandboxProcess.OversizedReply;
    if (!worded) {
      FAILURES.warn("Sandbox {} {}: a request failed with its process", model, version.version(), cause);
    }
    return new Worker.Failed(Worker.FailureKind.MODEL_ERROR, "the sandbox of model " + model
        + " failed while running the request: " + (worded ? cause.getMessage() : "it is restarted"), incident);
  }
}
