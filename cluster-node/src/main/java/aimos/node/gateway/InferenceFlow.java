package aimos.node.gateway;

import static aimos.node.gateway.GrpcFailures.grpcErrors;
import static aimos.node.gateway.GrpcFailures.invalid;
import static aimos.node.gateway.GrpcFailures.retryAfter;
import static aimos.node.gateway.GrpcFailures.statusOf;
import static aimos.node.gateway.GrpcFailures.unavailable;
import static aimos.node.gateway.GrpcFailures.unwrap;
import static aimos.node.gateway.InferenceMapping.apiKey;
import static aimos.node.gateway.InferenceMapping.deadlineOf;
import static aimos.node.gateway.InferenceMapping.fingerprint;
import static aimos.node.gateway.InferenceMapping.inputChars;
import static aimos.node.gateway.InferenceMapping.job;
import static aimos.node.gateway.InferenceMapping.output;
import static aimos.node.gateway.InferenceMapping.requestId;
import static aimos.node.gateway.InferenceMapping.units;
import static aimos.node.gateway.InferenceMapping.usage;
import static aimos.node.gateway.InferenceMapping.validate;

import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferStreamResponse;
import aimos.api.v1.TextDelta;
import aimos.model.ModelEntity;
import aimos.model.sandbox.Worker;
import aimos.node.NodeSettings;
import aimos.node.metrics.AimosMetrics;
import aimos.tenant.ApiKeys;
import aimos.tenant.TenantEntity;
import io.grpc.Status;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inference request's flow, the same for gRPC and REST, unary and streamed: authenticate and admit at the tenant
 * (or replay an earlier answer to the same request id), lease a worker from the model, run the model in its sandbox
 * (handing a failure to the version's fallback once), record the usage at the tenant, answer. Every failure maps to
 * a precise gRPC status, frees what the request held, and bills nothing.
 */
final class InferenceFlow {
  private static final Logger log = LoggerFactory.getLogger(InferenceGateway.class);

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final NodeSettings settings;
  private final AimosMetrics metrics;
  private final aimos.node.health.StoreHealth store;
  private final Directories directories;
  private final CallTiming timings;
  private final RecentAnswers answers;
  /** Names each attempt at admission uniquely across the cluster: a random prefix per node, then a counter. */
  private final String attemptPrefix = Long.toHexString(new java.security.SecureRandom().nextLong()) + "-";
  private final java.util.concurrent.atomic.AtomicLong attempts = new java.util.concurrent.atomic.AtomicLong();
  private final MemberChanges memberChanges;

  InferenceFlow(ActorSystem<?> system, NodeSettings settings, AimosMetrics metrics,
                aimos.node.health.StoreHealth store, Directories directories, CallTiming timings) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.settings = settings;
    this.metrics = metrics;
    this.store = store;
    this.directories = directories;
    this.timings = timings;
    this.answers = new RecentAnswers(settings.replayOutputBytes(), settings.replayOutputTtl());
    this.memberChanges = MemberChanges.watch(system);
  }

  /**
   * Serves one request whole: admitted (or replayed), leased, run (or handed to its fallback), recorded, answered.
   */
  CompletionStage<InferResponse> serve(InferRequest in, Metadata metadata) {
    long started = System.nanoTime();
    CompletionStage<InferResponse> result;
    try {
      Call call = call(in, metadata);
      result = admit(call).thenCompose(admission -> admission instanceof TenantEntity.Replayed replayed
          ? CompletableFuture.completedFuture(replay(call, replayed.recorded()))
          : lease((TenantEntity.Admitted) admission, in, call.deadlineNanos())
              .thenCompose(granted -> run(call, (TenantEntity.Admitted) admission, granted, started, null, null,
                  null)));
    } catch (GrpcServiceException e) {
      result = CompletableFuture.failedFuture(e);
    }
    return measured(in, started, grpcErrors(result));
  }

  /**
   * Starts a streamed inference. The stage completes once the request is admitted and holds a worker lease (or fails
   * as {@link #serve} would, so that callers can answer with a plain error); its source then gives the model's text
   * pieces as they come and ends with the whole, metered response, or fails if the run or its metering does.
   */
  CompletionStage<Source<InferStreamResponse, NotUsed>> stream(InferRequest in, Metadata metadata) {
    long started = System.nanoTime();
    try {
      Call call = call(in, metadata);
      if (!in.hasText()) {
        throw invalid("InferStream streams text; embeddings come whole: use Infer");
      }
      return startMeasured(in, started, grpcErrors(admit(call).thenCompose(admission -> {
        if (admission instanceof TenantEntity.Replayed replayed) {
          // answered before: no text pieces, only the recorded result
          return CompletableFuture.completedFuture(Source.single(InferStreamResponse.newBuilder()
              .setDone(replay(call, replayed.recorded())).build()));
        }
        TenantEntity.Admitted admitted = (TenantEntity.Admitted) admission;
        return lease(admitted, in, call.deadlineNanos()).thenApply(granted -> {
          Pair<ActorRef<Worker.Streamed>, Source<Worker.Streamed, NotUsed>> pieces =
              ActorSource.<Worker.Streamed>actorRef(m -> m instanceof Worker.StreamEnd, m -> Optional.empty(),
                  STREAM_BUFFER, OverflowStrategy.fail()).preMaterialize(system);
          // a caller that stops reading before the result is recorded gave up: its answer is not billed
          CompletableFuture<Void> gone = new CompletableFuture<>();
          // a stream's latency, for its usage and SLA, ends at its first text piece
          AtomicLong firstPiece = new AtomicLong();
          CompletionStage<InferResponse> done = measured(in, started,
              grpcErrors(run(call, admitted, granted, started, pieces.first(), gone, firstPiece)));
          // the worker ends the pieces before it answers; end them here too in case it never answered
          done.whenComplete((r, err) -> pieces.first().tell(new Worker.StreamEnd()));
          return pieces.second()
              .collectType(Worker.Chunk.class)
              .map(c -> {
                if (firstPiece.compareAndSet(0, System.nanoTime())) {
                  metrics.firstToken(in.getModel(), (firstPiece.get() - started) / 1e9);
                }
                return InferStreamResponse.newBuilder().setDelta(TextDelta.newBuilder().setText(c.text())).build();
              })
              .concat(Source.completionStage(done).map(r -> InferStreamResponse.newBuilder().setDone(r).build()))
              .watchTermination((mat, terminated) -> {
                terminated.whenComplete((d, err) -> gone.complete(null));
                return mat;
              });
        });
      })));
    } catch (GrpcServiceException e) {
      return startMeasured(in, started, CompletableFuture.failedFuture(e));
    }
  }

  /** A stream that fails to start (refused, no capacity) counts as a request; one that starts counts at its end. */
  private <T> CompletionStage<T> startMeasured(InferRequest in, long started, CompletionStage<T> start) {
    start.whenComplete((s, err) -> {
      if (err != null) {
        measured(in, started, CompletableFuture.failedFuture(err));
      }
    });
    return start;
  }

  private static final int STREAM_BUFFER = 16_384;

  /**
   * One request as the gateway serves it: the caller's key, the request id, the fingerprint of its input (what makes
   * a retry a retry), and when the caller stops waiting (its gRPC deadline; 0: no deadline of its own).
   */
  private record Call(ApiKeys.Presented key, String requestId, String fingerprint, InferRequest in,
                      long deadlineNanos, CallTiming.Timing timing) {
    boolean callerGaveUp(Duration margin) {
      return deadlineNanos != 0 && deadlineNanos - System.nanoTime() < margin.toNanos();
    }
  }

  private Call call(InferRequest in, Metadata metadata) {
    ApiKeys.Presented key = checked(in, metadata);
    return new Call(key, requestId(in), fingerprint(in), in, deadlineOf(metadata), timings.of(metadata));
  }

  /** The caller's key, once the request is valid and the metering store can take its usage. */
  private ApiKeys.Presented checked(InferRequest in, Metadata metadata) {
    ApiKeys.Presented key = apiKey(metadata);
    validate(in, settings);
    if (!store.available()) {
      // fail fast: nothing can be metered, so nothing runs (and nothing waits on a write that cannot happen)
      throw new GrpcServiceException(Status.UNAVAILABLE.withDescription("the metering store (Cassandra) has not "
          + "answered for " + store.downForMillis() + " ms; nothing was run or billed; retry with the same "
          + "request_id"), retryAfter(1000));
    }
    return key;
  }

  /**
   * Admits the request at its tenant (an {@link TenantEntity.Admitted} holding a slot, or the {@link
   * TenantEntity.Replayed} result of an earlier answer to the same request), once the tenant is known to exist and,
   * for a request that will run, its model is registered.
   */
  private CompletionStage<TenantEntity.Admission> admit(Call call) {
    ApiKeys.Presented key = call.key();
    long estimate = Math.max(1, inputChars(call.in()) / 4);
    return known(directories.tenants(), key.tenantId(), "tenant").thenCompose(tenantExists -> {
      if (!tenantExists) {
        throw new GrpcServiceException(Status.UNAUTHENTICATED.withDescription("invalid or revoked API key"));
      }
      // one attempt: asked again under the same name, the tenant answers with the admission this attempt holds
      Duration wait = within(settings.askTimeout(), call.deadlineNanos());
      TenantEntity.Admit admit = new TenantEntity.Admit(key.secret(), call.requestId(), call.fingerprint(),
          call.in().getModel(), estimate, System.currentTimeMillis() + wait.toMillis(), null, nextAttempt());
      EntityRef<TenantEntity.Command> tenant = tenant(key.tenantId());
      return askAgain(each -> AskPattern.<TenantEntity.Command, TenantEntity.Admission>ask(tenant,
                  admit::askedAgain, each, system.scheduler()), wait, (winner, late) -> {
            // an ask that reached the tenant after the request was done got an admission of its own: give it back
            if (late instanceof TenantEntity.Admitted a && !(winner instanceof TenantEntity.Admitted w
                && w.admissionId().equals(a.admissionId()))) {
              tenant.tell(new TenantEntity.Release(a.admissionId()));
            }
          })
          .exceptionally(e -> {
            throw unavailable("the tenant service did not answer in time; retry with the same request_id", e);
          });
    }).thenCompose(admission -> {
      if (admission instanceof TenantEntity.Replayed) {
        return CompletableFuture.completedFuture(admission);
      }
      if (admission instanceof TenantEntity.Admitted a) {
        return known(directories.models(), call.in().getModel(), "model").thenApply(modelExists -> {
          if (!modelExists) {
            tenant(a.tenantId()).tell(new TenantEntity.Release(a.admissionId()));
            throw new GrpcServiceException(Status.NOT_FOUND.withDescription("model " + call.in().getModel()
                + " is not registered; ListModels (or GET /v1/models) lists the models you can call"));
          }
          return admission;
        });
      }
      throw rejection((TenantEntity.Rejected) admission);
    });
  }

  /** The configured wait, cut to what is left of the caller's deadline (0: none): nobody waits for an answer after. */
  private static Duration within(Duration configured, long deadlineNanos) {
    if (deadlineNanos == 0) {
      return configured;
    }
    long left = deadlineNanos - System.nanoTime();
    return Duration.ofNanos(Math.max(1_000_000, Math.min(configured.toNanos(), left)));
  }

  /** Asks, and asks again if the entity's node may have died meanwhile (see {@link AskAgain}). */
  private <T> CompletionStage<T> askAgain(java.util.function.Function<Duration, CompletionStage<T>> ask,
                                          Duration total, java.util.function.BiConsumer<T, T> late) {
    return AskAgain.ask(ask, settings.reAskAfter(), total,
        (delay, task) -> system.scheduler().scheduleOnce(delay, task, system.executionContext()), memberChanges, late);
  }

  private String nextAttempt() {
    return attemptPrefix + attempts.incrementAndGet();
  }

  private CompletionStage<Boolean> known(KnownNames names, String name, String what) {
    return names.contains(name).exceptionally(e -> {
      throw unavailable("the " + what + " directory did not answer in time; retry with the same request_id", e);
    });
  }

  private GrpcServiceException rejection(TenantEntity.Rejected r) {
    return switch (r.reason()) {
      case UNAUTHENTICATED -> new GrpcServiceException(Status.UNAUTHENTICATED.withDescription(
          "invalid or revoked API key"));
      case REQUEST_ID_REUSED -> new GrpcServiceException(Status.ALREADY_EXISTS.withDescription(r.message()));
      // an operator's decision about the tenant, not a passing limit: retrying does not help
      case TENANT_SUSPENDED -> new GrpcServiceException(Status.PERMISSION_DENIED.withDescription(
          "tenant_suspended: " + r.message()));
      case REQUEST_IN_PROGRESS -> new GrpcServiceException(Status.ABORTED.withDescription(r.message()),
          retryAfter(r.retryAfterMillis()));
      default -> {
        metrics.quotaRejected(r.reason().name().toLowerCase());
        // a tenant over its own quota is RESOURCE_EXHAUSTED; a model without capacity (below) is UNAVAILABLE
        yield new GrpcServiceException(Status.RESOURCE_EXHAUSTED.withDescription(
            r.reason().name().toLowerCase() + ": " + r.message()), retryAfter(r.retryAfterMillis()));
      }
    };
  }

  /**
   * The answer to a retry of a request that was answered before, nothing run: its recorded usage, with its output if
   * this node still keeps it.
   */
  private InferResponse replay(Call call, TenantEntity.Recorded recorded) {
    InferResponse.Builder b = InferResponse.newBuilder();
    answers.find(call.key().tenantId(), call.requestId(), call.fingerprint()).ifPresent(b::mergeFrom);
    return b
        .setRequestId(call.requestId())
        .setModel(recorded.model())
        .setVersion(recorded.version())
        .setUsage(usage(recorded))
        .setReplayed(true)
        .build();
  }

  /**
   * Leases a worker slot for the admitted request, waiting at most until the caller's deadline ({@code deadlineNanos},
   * 0: none): a caller that gave up is retrying elsewhere, and this admission must be given back for that retry.
   */
  private CompletionStage<ModelEntity.Granted> lease(TenantEntity.Admitted admitted, InferRequest in,
                                                     long deadlineNanos) {
    EntityRef<ModelEntity.Command> modelRef = sharding.entityRefFor(ModelEntity.ENTITY_KEY, in.getModel());
    long asked = System.nanoTime();
    // held by the admission: asked again, the model answers with the lease this admission already has
    Duration wait = within(settings.leaseTimeout(), deadlineNanos);
    ModelEntity.AcquireLease acquire = new ModelEntity.AcquireLease(in.getVersion(), admitted.tenantId(), null,
        admitted.tenantId() + "/" + admitted.admissionId(), System.currentTimeMillis() + wait.toMillis());
    return askAgain(each -> AskPattern.<ModelEntity.Command, ModelEntity.LeaseResult>ask(modelRef,
            acquire::askedAgain, each, system.scheduler()), wait, (winner, late) -> {
          // a lease granted to an ask that arrived after the request gave its own back: give this one back too
          if (late instanceof ModelEntity.Granted g && !(winner instanceof ModelEntity.Granted w
              && w.leaseId().equals(g.leaseId()))) {
            modelRef.tell(new ModelEntity.ReleaseLease(g.leaseId()));
          }
        })
        .handle((result, err) -> {
          if (result instanceof ModelEntity.Granted g) {
            metrics.leaseAcquired(in.getModel(), (System.nanoTime() - asked) / 1e9);
            return g;
          }
          tenant(admitted.tenantId()).tell(new TenantEntity.Release(admitted.admissionId()));
          if (err != null) {
            throw unavailable("no worker lease for model " + in.getModel() + " within "
                + wait.toMillis() + " ms", err);
          }
          if (result instanceof ModelEntity.NoSuchVersion n) {
            throw new GrpcServiceException(Status.NOT_FOUND.withDescription(n.message()));
          }
          throw new GrpcServiceException(Status.UNAVAILABLE.withDescription(
              "no capacity: " + ((ModelEntity.NoCapacity) result).message()));
        });
  }

  /**
   * Runs the admitted request and records its usage before answering. An answer nobody waits for any more (the
   * caller's deadline is about to pass, or a streaming caller went away) is not recorded, so it is not billed.
   */
  private CompletionStage<InferResponse> run(Call call, TenantEntity.Admitted admitted, ModelEntity.Granted granted,
                                             long started, ActorRef<Worker.Streamed> stream,
                                             CompletableFuture<Void> callerGone,
                                             AtomicLong firstPiece) {
    EntityRef<TenantEntity.Command> tenant = tenant(admitted.tenantId());
    String requestId = call.requestId();
    return runModel(admitted, granted, requestId, call.in(), stream, call.timing())
        .exceptionallyCompose(err -> fallBack(admitted, granted, requestId, call.in(), stream, call.timing(), err))
        .whenComplete((ran, err) -> {
          if (err != null) {
            // nothing was answered: the request's slot is free; its rate token is given back unless its input made
            // the model fail
            String incident = modelFailureOf(err, requestId);
            tenant.tell(incident == null ? new TenantEntity.Release(admitted.admissionId())
                : TenantEntity.Release.modelFailed(admitted.admissionId(), incident));
          }
        })
        .thenCompose(ran -> {
          if (call.callerGaveUp(RECORD_MARGIN) || (callerGone != null && callerGone.isDone())) {
            tenant.tell(new TenantEntity.Release(admitted.admissionId()));
            throw new GrpcServiceException(Status.DEADLINE_EXCEEDED.withDescription("request " + requestId
                + " was answered by the model after its caller stopped waiting; it was not billed"));
          }
          // a stream that gave no piece yet (none at all, or its caller has not read one) is measured to its end
          long answered = firstPiece == null || firstPiece.get() == 0 ? System.nanoTime() : firstPiece.get();
          return record(tenant, admitted, ran.granted(), call, ran.in(), ran.result(), started, answered)
            .handle((recorded, err) -> {
              if (err != null) {
                throw unavailable("the usage of request " + requestId + " could not be recorded, so no answer is "
                    + "given; retry with the same request_id", err);
              }
              if (recorded.replayed() && !recorded.sameInput(call.fingerprint())) {
                // the id was recorded meanwhile for another input: this output was not paid for
                throw new GrpcServiceException(Status.ALREADY_EXISTS.withDescription("request id " + requestId
                    + " was already used for another input; nothing was billed: send each new request with a new "
                    + "request id"));
              }
              metrics.metered(ran.in().getModel(), recorded);
              InferResponse output = output(ran.result());
              answers.keep(admitted.tenantId(), requestId, call.fingerprint(), output);
              return InferResponse.newBuilder()
                  .setRequestId(requestId)
                  .setModel(ran.in().getModel())
                  .setVersion(ran.granted().version().version())
                  .mergeFrom(output)
                  .setUsage(usage(recorded))
                  .setReplayed(recorded.replayed())
                  .build();
            });
        });
  }

  /** How much of the caller's deadline must be left to record usage: about one journal write. */
  private static final Duration RECORD_MARGIN = Duration.ofMillis(50);

  /**
   * When the model failed on the request (crashed, hung, errored; not the platform or the caller's bad input), the
   * incident to count it under: the sandbox incident it shared with other requests, else the request itself; null
   * otherwise.
   */
  private static String modelFailureOf(Throwable err, String requestId) {
    Throwable t = unwrap(err);
    Status.Code code = statusOf(t).getCode();
    if (!(t instanceof ModelFailed f) || code != Status.Code.INTERNAL && code != Status.Code.DEADLINE_EXCEEDED) {
      return null;
    }
    return f.incident.isEmpty() ? "request " + requestId : f.incident;
  }

  /** A model's failure to answer, with what failed it (never sent to the caller: only the status is). */
  private static final class ModelFailed extends GrpcServiceException {
    final String incident;

    ModelFailed(Status status, String incident) {
      super(status);
      this.incident = incident;
    }
  }

  /** The node a model ran on was lost (unreachable, downed or removed) before it answered. */
  static final class WorkerNodeLost extends RuntimeException {
    WorkerNodeLost(Address node) {
      super("node " + node + " was lost", null, false, false);
    }
  }

  /** What a model answered, on which lease, for which request (the fallback's, if the fallback answered). */
  private record Ran(ModelEntity.Granted granted, InferRequest in, Worker.Result result) {}

  /** Runs the request on its leased worker; fails with the gRPC status of the model's failure. */
  private CompletionStage<Ran> runModel(TenantEntity.Admitted admitted, ModelEntity.Granted granted, String requestId,
                                        InferRequest in, ActorRef<Worker.Streamed> stream,
                                        CallTiming.Timing timing) {
    EntityRef<TenantEntity.Command> tenant = tenant(admitted.tenantId());
    // a request that runs longer than a third of the lease TTL keeps renewing its lease until the model answers
    Duration every = settings.leaseTtl().dividedBy(3);
    Cancellable renewal = system.scheduler().scheduleAtFixedRate(every, every,
        () -> sharding.entityRefFor(ModelEntity.ENTITY_KEY, in.getModel())
            .tell(new ModelEntity.RenewLease(granted.leaseId())), system.executionContext());
    long ranFrom = System.nanoTime();
    CompletableFuture<Worker.Result> run = new CompletableFuture<>();
    // a worker whose node is lost fails the run at once, not at the request's timeout: its client's retry runs
    // elsewhere instead of being refused as in progress meanwhile (nothing was recorded, so nothing is billed twice)
    // (a worker on this node is never lost: nothing to watch on the common single-node path)
    Address node = granted.worker().path().address();
    CompletableFuture<Address> lost = node.hasLocalScope() ? null : memberChanges.lost(node);
    if (lost != null) {
      lost.thenAccept(gone -> run.completeExceptionally(new WorkerNodeLost(gone)));
    }
    AskPattern.<Worker.Command, Worker.Result>ask(granted.worker(),
            replyTo -> new Worker.Run(requestId, job(in), replyTo, stream),
            aimos.model.runtime.ModelRuntimes.requestTimeout(granted.version().runtime(), settings.requestTimeout()),
            system.scheduler())
        .whenComplete((result, err) -> {
          if (lost != null) {
            memberChanges.forget(node, lost);
          }
          if (err != null) {
            run.completeExceptionally(err);
          } else {
            run.complete(result);
          }
        });
    return run
        .handle((result, err) -> {
          long ran = System.nanoTime() - ranFrom;
          timing.modelRan(ran);
          // the worker's slot, and the tenant's quota share, are free as soon as the model answered
          renewal.cancel();
          metrics.ran(granted.version().runtime(), ran / 1e9, result, err);
          releaseLease(in.getModel(), granted);
          tenant.tell(new TenantEntity.LeaseReleased(admitted.admissionId()));
          if (result instanceof Worker.Completed || result instanceof Worker.Embedded
              || result instanceof Worker.Seen || result instanceof Worker.Transcribed) {
            return new Ran(granted, in, result);
          }
          throw modelFailure(in.getModel(), result, err);
        });
  }

  /**
   * A version with a fallback ({@code model} or {@code model@version}) hands a request its model failed to answer
   * (unavailable, timed out, crashed; not the caller's bad input) to the fallback, once, under the same admission
   * and request id: the request is billed once, at the model that answered.
   */
  private CompletionStage<Ran> fallBack(TenantEntity.Admitted admitted, ModelEntity.Granted granted, String requestId,
                                        InferRequest in, ActorRef<Worker.Streamed> stream,
                                        CallTiming.Timing timing, Throwable err) {
    String fallback = granted.version().fallback();
    Status.Code code = statusOf(err).getCode();
    if (fallback.isEmpty() || !Set.of(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED, Status.Code.INTERNAL)
        .contains(code)) {
      return CompletableFuture.failedFuture(unwrap(err));
    }
    String[] target = fallback.split("@", 2);
    InferRequest other = in.toBuilder().setModel(target[0]).setVersion(target.length > 1 ? target[1] : "").build();
    log.info("Request {}: model {} failed ({}); falling back to {}", requestId, in.getModel(), code, fallback);
    metrics.fallback(in.getModel(), target[0]);
    return lease(admitted, other, 0).thenCompose(g -> runModel(admitted, g, requestId, other, stream, timing));
  }

  private CompletionStage<TenantEntity.Recorded> record(EntityRef<TenantEntity.Command> tenant,
                                                        TenantEntity.Admitted admitted, ModelEntity.Granted granted,
                                                        Call call, InferRequest in, Worker.Result c,
                                                        long started, long answered) {
    ModelEntity.VersionInfo v = granted.version();
    long latencyMicros = (answered - started) / 1000;
    // recorded once per request id, so asking again (the tenant moved meanwhile) never bills twice
    return askAgain(wait -> AskPattern.<TenantEntity.Command, StatusReply<TenantEntity.Recorded>>ask(tenant,
            replyTo -> new TenantEntity.RecordUsage(admitted.admissionId(), call.requestId(), call.fingerprint(),
                in.getModel(), v.version(),
                v.unit(), v.unitPriceMicros(), units(c),
                latencyMicros, replyTo),
            wait, system.scheduler()), settings.askTimeout(), (winner, late) -> { })
        .thenApply(StatusReply::getValue);
  }

  private void releaseLease(String model, ModelEntity.Granted granted) {
    metrics.leaseReleased();
    sharding.entityRefFor(ModelEntity.ENTITY_KEY, model).tell(new ModelEntity.ReleaseLease(granted.leaseId()));
  }

  private GrpcServiceException modelFailure(String model, Worker.Result result, Throwable err) {
    if (unwrap(err) instanceof WorkerNodeLost) {
      // the node's address goes to the log (with the cause), not to the caller
      return unavailable("model " + model + " was running on a node that is no longer reachable; retry: the retry "
          + "runs on another node", err);
    }
    if (err != null) {
      return unavailable("model " + model + " did not answer within " + settings.requestTimeout().toMillis()
          + " ms", err);
    }
    Worker.Failed f = (Worker.Failed) result;
    Status status = switch (f.kind()) {
      case INVALID_INPUT -> Status.INVALID_ARGUMENT;
      case DEADLINE -> Status.DEADLINE_EXCEEDED;
      case UNAVAILABLE -> Status.UNAVAILABLE;
      case MODEL_ERROR -> Status.INTERNAL;
    };
    return new ModelFailed(status.withDescription(f.message()), f.incident());
  }

  private EntityRef<TenantEntity.Command> tenant(String tenantId) {
    return sharding.entityRefFor(TenantEntity.ENTITY_KEY, tenantId);
  }

  /**
   * Counts the request under its model's name only when that model is registered and the caller was authenticated,
   * so that what anonymous callers send cannot add metric series.
   */
  private <T> CompletionStage<T> measured(InferRequest in, long started, CompletionStage<T> result) {
    metrics.requestStarted();
    return result.whenComplete((r, err) -> {
      metrics.requestDone();
      Status.Code code = err == null ? Status.Code.OK : statusOf(err).getCode();
      if (code == Status.Code.UNAUTHENTICATED) {
        metrics.authFailed(statusOf(err).getDescription() != null
            && statusOf(err).getDescription().startsWith(InferenceMapping.MISSING_KEY));
      }
      String model = code == Status.Code.UNAUTHENTICATED || in.getModel().isEmpty() ? AimosMetrics.UNKNOWN_MODEL
          : directories.models().knownHere(in.getModel()) ? in.getModel() : AimosMetrics.UNREGISTERED_MODEL;
      metrics.request(model, err == null ? "ok" : code.name(), (System.nanoTime() - started) / 1e9);
    });
  }
}
