package aimos.node.gateway;

import aimos.api.v1.GetUsageRequest;
import aimos.api.v1.GetUsageResponse;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferenceServicePowerApi;
import aimos.api.v1.ListModelsRequest;
import aimos.api.v1.ListModelsResponse;
import aimos.api.v1.ModelInfo;
import aimos.api.v1.ModelUsage;
import aimos.api.v1.ModelVersionInfo;
import aimos.api.v1.TextOutput;
import aimos.api.v1.Usage;
import aimos.billing.ledger.UsageReport;
import aimos.billing.rollup.UsageQueries;
import aimos.model.ModelEntity;
import aimos.model.sandbox.Worker;
import aimos.node.BearerToken;
import aimos.node.NodeSettings;
import aimos.node.admin.ModelCatalog;
import aimos.node.metrics.AimosMetrics;
import aimos.tenant.ApiKeys;
import aimos.tenant.Money;
import aimos.tenant.TenantEntity;
import io.grpc.Status;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;
import aimos.api.v1.InferStreamResponse;
import aimos.api.v1.TextDelta;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The public inference API. One request: authenticate and admit at the tenant, lease a worker from the model, run
 * the model in its sandbox, persist the usage at the tenant, answer. Every failure maps to a precise gRPC status,
 * frees what the request held, and bills nothing.
 */
public final class InferenceGateway implements InferenceServicePowerApi {
  private static final Logger log = LoggerFactory.getLogger(InferenceGateway.class);
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final NodeSettings settings;
  private final AimosMetrics metrics;
  private final UsageQueries usage;
  private final ModelCatalog models;
  private final aimos.node.health.StoreHealth store;
  private final Directories directories;

  public InferenceGateway(ActorSystem<?> system, NodeSettings settings, AimosMetrics metrics, UsageQueries usage,
                          ModelCatalog models, aimos.node.health.StoreHealth store, Directories directories) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.settings = settings;
    this.metrics = metrics;
    this.usage = usage;
    this.models = models;
    this.store = store;
    this.directories = directories;
    this.answers = new RecentAnswers(settings.replayOutputBytes(), settings.replayOutputTtl());
  }

  private final RecentAnswers answers;

  // ---- Infer ----

  @Override
  public CompletionStage<InferResponse> infer(InferRequest in, Metadata metadata) {
    long started = System.nanoTime();
    CompletionStage<InferResponse> result;
    try {
      Call call = call(in, metadata);
      result = admit(call).thenCompose(admission -> admission instanceof TenantEntity.Replayed replayed
          ? CompletableFuture.completedFuture(replay(call, replayed.recorded()))
          : lease((TenantEntity.Admitted) admission, in)
              .thenCompose(granted -> run(call, (TenantEntity.Admitted) admission, granted, started, null, null,
                  null)));
    } catch (GrpcServiceException e) {
      result = CompletableFuture.failedFuture(e);
    }
    return measured(in, started, grpcErrors(result));
  }

  /**
   * One request as the gateway serves it: the caller's key, the request id, the fingerprint of its input (what makes
   * a retry a retry), and when the caller stops waiting (its gRPC deadline; 0: no deadline of its own).
   */
  private record Call(ApiKeys.Presented key, String requestId, String fingerprint, InferRequest in,
                      long deadlineNanos) {
    boolean callerGaveUp(Duration margin) {
      return deadlineNanos != 0 && deadlineNanos - System.nanoTime() < margin.toNanos();
    }
  }

  private Call call(InferRequest in, Metadata metadata) {
    ApiKeys.Presented key = checked(in, metadata);
    return new Call(key, requestId(in), fingerprint(in), in, deadlineOf(metadata));
  }

  /**
   * A hash of everything that makes up the request but its id: model, version and input. Protobuf writes a message
   * without maps the same way every time, so a retry (over gRPC or REST) hashes the same.
   */
  static String fingerprint(InferRequest in) {
    try {
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
          .digest(in.toBuilder().clearRequestId().build().toByteArray());
      return java.util.HexFormat.of().formatHex(digest, 0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** When the caller's gRPC deadline ({@code grpc-timeout}) passes, as System.nanoTime(); 0 without one. */
  static long deadlineOf(Metadata metadata) {
    return metadata.getText("grpc-timeout").map(InferenceGateway::parseGrpcTimeout)
        .map(nanos -> System.nanoTime() + nanos).orElse(0L);
  }

  /** A {@code grpc-timeout} value (1-8 digits and a unit H, M, S, m, u or n) in nanoseconds; null when malformed. */
  static Long parseGrpcTimeout(String value) {
    if (value.length() < 2 || value.length() > 9) {
      return null;
    }
    long amount;
    try {
      amount = Long.parseLong(value.substring(0, value.length() - 1));
    } catch (NumberFormatException e) {
      return null;
    }
    if (amount < 0) {
      return null;
    }
    return switch (value.charAt(value.length() - 1)) {
      case 'H' -> amount * 3_600_000_000_000L;
      case 'M' -> amount * 60_000_000_000L;
      case 'S' -> amount * 1_000_000_000L;
      case 'm' -> amount * 1_000_000L;
      case 'u' -> amount * 1_000L;
      case 'n' -> amount;
      default -> null;
    };
  }

  @Override
  public Source<InferStreamResponse, NotUsed> inferStream(InferRequest in, Metadata metadata) {
    return Source.completionStageSource(startStream(in, metadata)).mapMaterializedValue(m -> NotUsed.notUsed());
  }

  /**
   * Starts a streamed inference. The stage completes once the request is admitted and holds a worker lease (or fails
   * as {@link #infer} would, so that callers can answer with a plain error); its source then gives the model's text
   * pieces as they come and ends with the whole, metered response, or fails if the run or its metering does.
   */
  public CompletionStage<Source<InferStreamResponse, NotUsed>> startStream(InferRequest in, Metadata metadata) {
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
        return lease(admitted, in).thenApply(granted -> {
          Pair<ActorRef<Worker.Streamed>, Source<Worker.Streamed, NotUsed>> pieces =
              ActorSource.<Worker.Streamed>actorRef(m -> m instanceof Worker.StreamEnd, m -> Optional.empty(),
                  STREAM_BUFFER, OverflowStrategy.fail()).preMaterialize(system);
          // a caller that stops reading before the result is recorded gave up: its answer is not billed
          CompletableFuture<Void> gone = new CompletableFuture<>();
          // a stream's latency, for its usage and SLA, ends at its first text piece
          java.util.concurrent.atomic.AtomicLong firstPiece = new java.util.concurrent.atomic.AtomicLong();
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

  /** The caller's key, once the request is valid and the metering store can take its usage. */
  private ApiKeys.Presented checked(InferRequest in, Metadata metadata) {
    ApiKeys.Presented key = apiKey(metadata);
    validate(in);
    if (!store.available()) {
      // fail fast: nothing can be metered, so nothing runs (and nothing waits on a write that cannot happen)
      throw new GrpcServiceException(Status.UNAVAILABLE.withDescription("the metering store (Cassandra) has not "
          + "answered for " + store.downForMillis() + " ms; nothing was run or billed; retry with the same "
          + "request_id"), retryAfter(1000));
    }
    return key;
  }

  private static String requestId(InferRequest in) {
    return in.getRequestId().isEmpty() ? UUID.randomUUID().toString() : in.getRequestId();
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
            && statusOf(err).getDescription().startsWith(MISSING_KEY));
      }
      String model = code == Status.Code.UNAUTHENTICATED || in.getModel().isEmpty() ? AimosMetrics.UNKNOWN_MODEL
          : directories.models().knownHere(in.getModel()) ? in.getModel() : AimosMetrics.UNREGISTERED_MODEL;
      metrics.request(model, err == null ? "ok" : code.name(), (System.nanoTime() - started) / 1e9);
    });
  }

  /** Fails with the GrpcServiceException itself (not wrapped); anything unexpected is logged and INTERNAL. */
  private static <T> CompletionStage<T> grpcErrors(CompletionStage<T> stage) {
    return stage.exceptionallyCompose(err -> {
      Throwable t = unwrap(err);
      if (!(t instanceof GrpcServiceException)) {
        log.error("Unexpected failure serving a request", t);
        t = new GrpcServiceException(Status.INTERNAL.withDescription("internal error; see the node's log"));
      }
      return CompletableFuture.failedFuture(t);
    });
  }

  private void validate(InferRequest in) {
    if (in.getModel().isEmpty()) {
      throw invalid("model is required, for example \"demo-text\"");
    }
    if (!ModelEntity.isValidName(in.getModel())) {
      throw invalid("model must be " + ModelEntity.nameRule() + ", was \"" + in.getModel() + "\"");
    }
    if (!in.getRequestId().isEmpty() && !REQUEST_ID.matcher(in.getRequestId()).matches()) {
      throw invalid("request_id must be 1-128 characters of letters, digits and . _ : -");
    }
    if (in.hasEmbedding()) {
      validateEmbedding(in.getEmbedding());
      return;
    }
    if (in.hasAudio()) {
      int size = in.getAudio().getData().size();
      if (size == 0) {
        throw invalid("audio.data is empty: send the bytes of a WAV, AIFF or AU file");
      }
      if (size > settings.maxImageBytes() * 2) {
        throw invalid("audio.data has " + size + " bytes; the limit is " + settings.maxImageBytes() * 2);
      }
      if (in.getAudio().getGrammar().length() > 65_536) {
        throw invalid("audio.grammar is longer than 64 KiB");
      }
      return;
    }
    if (in.hasImage()) {
      int size = in.getImage().getData().size();
      if (size == 0) {
        throw invalid("image.data is empty: send the bytes of a PNG, JPEG, GIF or BMP image");
      }
      if (size > settings.maxImageBytes()) {
        throw invalid("image.data has " + size + " bytes; the limit is " + settings.maxImageBytes());
      }
      return;
    }
    if (!in.hasText()) {
      throw invalid("input is required: set text.prompt (or embedding.inputs for an embeddings model, image.data "
          + "for a vision model)");
    }
    String prompt = in.getText().getPrompt();
    if (prompt.isBlank()) {
      throw invalid("text.prompt is empty");
    }
    if (prompt.length() > settings.maxPromptChars()) {
      throw invalid("text.prompt has " + prompt.length() + " characters; the limit is " + settings.maxPromptChars());
    }
    if (in.getText().getMaxTokens() < 0 || in.getText().getMaxTokens() > 4096) {
      throw invalid("text.max_tokens must be between 0 (model default) and 4096");
    }
  }

  private void validateEmbedding(aimos.api.v1.EmbeddingInput e) {
    if (e.getInputsCount() < 1 || e.getInputsCount() > MAX_EMBEDDING_INPUTS) {
      throw invalid("embedding.inputs must hold 1 to " + MAX_EMBEDDING_INPUTS + " texts, not " + e.getInputsCount());
    }
    long chars = 0;
    for (int i = 0; i < e.getInputsCount(); i++) {
      if (e.getInputs(i).isBlank()) {
        throw invalid("embedding.inputs[" + i + "] is empty");
      }
      chars += e.getInputs(i).length();
    }
    if (chars > settings.maxPromptChars()) {
      throw invalid("embedding.inputs have " + chars + " characters in all; the limit is " + settings.maxPromptChars());
    }
  }

  static final int MAX_EMBEDDING_INPUTS = 256;

  /** Characters of input, for the tokens-per-minute estimate at admission (about 4 characters a token). */
  private static long inputChars(InferRequest in) {
    if (in.hasImage() || in.hasAudio()) {
      return 0;
    }
    return in.hasEmbedding() ? in.getEmbedding().getInputsList().stream().mapToLong(String::length).sum()
        : in.getText().getPrompt().length();
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
      return AskPattern.<TenantEntity.Command, TenantEntity.Admission>ask(tenant(key.tenantId()),
              replyTo -> new TenantEntity.Admit(key.secret(), call.requestId(), call.fingerprint(),
                  call.in().getModel(), estimate,
                  System.currentTimeMillis() + settings.askTimeout().toMillis(), replyTo),
              settings.askTimeout(), system.scheduler())
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

  private static Usage.Builder usage(TenantEntity.Recorded recorded) {
    return Usage.newBuilder()
        .setPromptTokens(recorded.units().promptTokens())
        .setCompletionTokens(recorded.units().completionTokens())
        .setImages(recorded.units().images())
        .setAudioMillis(recorded.units().audioMillis())
        .setChargeUsd(Money.format(recorded.chargeMicros()));
  }

  private CompletionStage<ModelEntity.Granted> lease(TenantEntity.Admitted admitted, InferRequest in) {
    EntityRef<ModelEntity.Command> modelRef = sharding.entityRefFor(ModelEntity.ENTITY_KEY, in.getModel());
    long asked = System.nanoTime();
    return AskPattern.<ModelEntity.Command, ModelEntity.LeaseResult>ask(modelRef,
            replyTo -> new ModelEntity.AcquireLease(in.getVersion(), admitted.tenantId(), replyTo),
            settings.leaseTimeout(), system.scheduler())
        .handle((result, err) -> {
          if (result instanceof ModelEntity.Granted g) {
            metrics.leaseAcquired(in.getModel(), (System.nanoTime() - asked) / 1e9);
            return g;
          }
          tenant(admitted.tenantId()).tell(new TenantEntity.Release(admitted.admissionId()));
          if (err != null) {
            throw unavailable("no worker lease for model " + in.getModel() + " within "
                + settings.leaseTimeout().toMillis() + " ms", err);
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
                                             java.util.concurrent.atomic.AtomicLong firstPiece) {
    EntityRef<TenantEntity.Command> tenant = tenant(admitted.tenantId());
    String requestId = call.requestId();
    return runModel(admitted, granted, requestId, call.in(), stream)
        .exceptionallyCompose(err -> fallBack(admitted, granted, requestId, call.in(), stream, err))
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

  /** What a model answered, on which lease, for which request (the fallback's, if the fallback answered). */
  private record Ran(ModelEntity.Granted granted, InferRequest in, Worker.Result result) {}

  /** Runs the request on its leased worker; fails with the gRPC status of the model's failure. */
  private CompletionStage<Ran> runModel(TenantEntity.Admitted admitted, ModelEntity.Granted granted, String requestId,
                                        InferRequest in, ActorRef<Worker.Streamed> stream) {
    EntityRef<TenantEntity.Command> tenant = tenant(admitted.tenantId());
    // a request that runs longer than a third of the lease TTL keeps renewing its lease until the model answers
    Duration every = settings.leaseTtl().dividedBy(3);
    Cancellable renewal = system.scheduler().scheduleAtFixedRate(every, every,
        () -> sharding.entityRefFor(ModelEntity.ENTITY_KEY, in.getModel())
            .tell(new ModelEntity.RenewLease(granted.leaseId())), system.executionContext());
    long running = System.nanoTime();
    return AskPattern.<Worker.Command, Worker.Result>ask(granted.worker(),
            replyTo -> new Worker.Run(requestId, job(in), replyTo, stream),
            aimos.model.runtime.ModelRuntimes.requestTimeout(granted.version().runtime(), settings.requestTimeout()),
            system.scheduler())
        .handle((result, err) -> {
          // the worker's slot, and the tenant's quota share, are free as soon as the model answered
          renewal.cancel();
          metrics.ran(granted.version().runtime(), (System.nanoTime() - running) / 1e9, result, err);
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
                                        InferRequest in, ActorRef<Worker.Streamed> stream, Throwable err) {
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
    return lease(admitted, other).thenCompose(g -> runModel(admitted, g, requestId, other, stream));
  }

  private CompletionStage<TenantEntity.Recorded> record(EntityRef<TenantEntity.Command> tenant,
                                                        TenantEntity.Admitted admitted, ModelEntity.Granted granted,
                                                        Call call, InferRequest in, Worker.Result c,
                                                        long started, long answered) {
    ModelEntity.VersionInfo v = granted.version();
    long latencyMicros = (answered - started) / 1000;
    return AskPattern.<TenantEntity.Command, StatusReply<TenantEntity.Recorded>>ask(tenant,
            replyTo -> new TenantEntity.RecordUsage(admitted.admissionId(), call.requestId(), call.fingerprint(),
                in.getModel(), v.version(),
                v.unit(), v.unitPriceMicros(), units(c),
                latencyMicros, replyTo),
            settings.askTimeout(), system.scheduler())
        .thenApply(StatusReply::getValue);
  }

  private static Worker.Job job(InferRequest in) {
    if (in.hasImage()) {
      return new Worker.ImageJob(in.getImage().getData().toByteArray());
    }
    if (in.hasAudio()) {
      return new Worker.AudioJob(in.getAudio().getData().toByteArray(), in.getAudio().getGrammar());
    }
    return in.hasEmbedding() ? new Worker.EmbedJob(java.util.List.copyOf(in.getEmbedding().getInputsList()))
        : new Worker.TextJob(in.getText().getPrompt(), in.getText().getMaxTokens());
  }

  /** What the request is billed for, from what the model did. */
  private static aimos.tenant.Units units(Worker.Result r) {
    if (r instanceof Worker.Seen) {
      return aimos.tenant.Units.image();
    }
    if (r instanceof Worker.Transcribed t) {
      return aimos.tenant.Units.audio(t.audioMillis());
    }
    return r instanceof Worker.Embedded e ? aimos.tenant.Units.tokens(e.tokens(), 0)
        : aimos.tenant.Units.tokens(((Worker.Completed) r).promptTokens(), ((Worker.Completed) r).completionTokens());
  }

  /** The model's output as the response's output field. */
  private static InferResponse output(Worker.Result r) {
    if (r instanceof Worker.Transcribed t) {
      return InferResponse.newBuilder().setTranscript(aimos.api.v1.TranscriptOutput.newBuilder().setText(t.text())
          .setDurationMillis(t.audioMillis())).build();
    }
    if (r instanceof Worker.Seen seen) {
      aimos.api.v1.ImageOutput.Builder out = aimos.api.v1.ImageOutput.newBuilder().setText(seen.text())
          .setConfidence(seen.confidence());
      seen.labels().forEach(l -> out.addLabels(aimos.api.v1.ImageLabel.newBuilder().setLabel(l.label())
          .setScore(l.score())));
      return InferResponse.newBuilder().setImage(out).build();
    }
    if (r instanceof Worker.Embedded e) {
      aimos.api.v1.EmbeddingOutput.Builder out = aimos.api.v1.EmbeddingOutput.newBuilder();
      for (float[] vector : e.vectors()) {
        aimos.api.v1.Embedding.Builder b = aimos.api.v1.Embedding.newBuilder();
        for (float f : vector) {
          b.addValues(f);
        }
        out.addData(b);
      }
      return InferResponse.newBuilder().setEmbedding(out).build();
    }
    return InferResponse.newBuilder().setText(TextOutput.newBuilder()
        .setCompletion(((Worker.Completed) r).completion())).build();
  }

  private void releaseLease(String model, ModelEntity.Granted granted) {
    metrics.leaseReleased();
    sharding.entityRefFor(ModelEntity.ENTITY_KEY, model).tell(new ModelEntity.ReleaseLease(granted.leaseId()));
  }

  private GrpcServiceException modelFailure(String model, Worker.Result result, Throwable err) {
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

  // ---- ListModels and GetUsage ----

  @Override
  public CompletionStage<ListModelsResponse> listModels(ListModelsRequest in, Metadata metadata) {
    return grpcErrors(authenticated(metadata).thenCompose(tenantId -> models.list()).thenApply(views -> {
      ListModelsResponse.Builder b = ListModelsResponse.newBuilder();
      for (ModelEntity.ModelView v : views) {
        ModelInfo.Builder m = ModelInfo.newBuilder().setName(v.name()).setDescription(v.description())
            .setDefaultVersion(v.defaultVersion());
        v.versions().forEach(ver -> m.addVersions(ModelVersionInfo.newBuilder().setVersion(ver.version())
            .setRuntime(ver.runtime()).setBillingUnit(ver.unit()).setUnitPriceUsd(Money.format(ver.unitPriceMicros()))));
        b.addModels(m);
      }
      return b.build();
    }));
  }

  @Override
  public CompletionStage<GetUsageResponse> getUsage(GetUsageRequest in, Metadata metadata) {
    String month;
    try {
      month = in.getMonth().isEmpty() ? YearMonth.now(ZoneOffset.UTC).toString() : YearMonth.parse(in.getMonth()).toString();
    } catch (DateTimeParseException e) {
      return CompletableFuture.failedFuture(invalid("month must look like 2026-11, was \"" + in.getMonth() + "\""));
    }
    return grpcErrors(authenticated(metadata).thenCompose(tenantId -> usage.report(tenantId, month)
        .exceptionally(e -> {
          throw unavailable("the usage rollups cannot be read right now", e);
        }))
        .thenApply(InferenceGateway::toProto));
  }

  static GetUsageResponse toProto(UsageReport r) {
    GetUsageResponse.Builder b = GetUsageResponse.newBuilder().setTenantId(r.tenantId()).setMonth(r.month())
        .setRequests(r.requests()).setPromptTokens(r.promptTokens()).setCompletionTokens(r.completionTokens())
        .setImages(r.images()).setAudioMillis(r.audioMillis()).setChargeUsd(Money.format(r.chargeMicros()));
    r.byModel().forEach(l -> b.addByModel(ModelUsage.newBuilder().setModel(l.model()).setVersion(l.version())
        .setRequests(l.requests()).setTokens(l.tokens()).setImages(l.images()).setAudioMillis(l.audioMillis())
        .setChargeUsd(Money.format(l.chargeMicros()))));
    return b.build();
  }

  private CompletionStage<String> authenticated(Metadata metadata) {
    ApiKeys.Presented key;
    try {
      key = apiKey(metadata);
    } catch (GrpcServiceException e) {
      return CompletableFuture.failedFuture(e);
    }
    return AskPattern.<TenantEntity.Command, TenantEntity.Admission>ask(tenant(key.tenantId()),
            replyTo -> new TenantEntity.Authenticate(key.secret(), replyTo), settings.askTimeout(), system.scheduler())
        .exceptionally(e -> {
          throw unavailable("the tenant service did not answer in time", e);
        })
        .thenApply(a -> {
          if (a instanceof TenantEntity.Admitted ok) {
            return ok.tenantId();
          }
          throw new GrpcServiceException(Status.UNAUTHENTICATED.withDescription("invalid or revoked API key"));
        });
  }

  // ---- helpers ----

  private EntityRef<TenantEntity.Command> tenant(String tenantId) {
    return sharding.entityRefFor(TenantEntity.ENTITY_KEY, tenantId);
  }

  static ApiKeys.Presented apiKey(Metadata metadata) {
    String header = metadata.getText("authorization").orElse("");
    if (header.isEmpty()) {
      throw new GrpcServiceException(Status.UNAUTHENTICATED.withDescription(
          MISSING_KEY + ": send the metadata 'authorization: Bearer aimos_<tenant>_<secret>'"));
    }
    return ApiKeys.parse(BearerToken.of(header)).orElseThrow(() -> new GrpcServiceException(Status.UNAUTHENTICATED.withDescription(
        "invalid or revoked API key")));
  }

  private static final String MISSING_KEY = "missing API key";

  private static GrpcServiceException invalid(String message) {
    return new GrpcServiceException(Status.INVALID_ARGUMENT.withDescription(message));
  }

  private static GrpcServiceException unavailable(String message, Throwable cause) {
    Throwable c = unwrap(cause);
    if (c instanceof GrpcServiceException g) {
      return g;
    }
    log.warn("{}: {}", message, String.valueOf(c));
    return new GrpcServiceException(Status.UNAVAILABLE.withDescription(message));
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static Status statusOf(Throwable err) {
    Throwable t = unwrap(err);
    if (t instanceof GrpcServiceException g) {
      return g.getStatus();
    }
    return Status.INTERNAL;
  }

  private static org.apache.pekko.grpc.javadsl.Metadata retryAfter(long millis) {
    return new org.apache.pekko.grpc.javadsl.MetadataBuilder()
        .addText("retry-after-ms", Long.toString(Math.max(0, millis))).build();
  }
}
