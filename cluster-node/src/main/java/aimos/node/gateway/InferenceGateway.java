package aimos.node.gateway;

import static aimos.node.gateway.GrpcFailures.grpcErrors;
import static aimos.node.gateway.GrpcFailures.invalid;
import static aimos.node.gateway.GrpcFailures.unavailable;
import static aimos.node.gateway.InferenceMapping.apiKey;

import aimos.api.v1.GetUsageRequest;
import aimos.api.v1.GetUsageResponse;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferStreamResponse;
import aimos.api.v1.InferenceServicePowerApi;
import aimos.api.v1.ListModelsRequest;
import aimos.api.v1.ListModelsResponse;
import aimos.api.v1.ModelInfo;
import aimos.api.v1.ModelVersionInfo;
import aimos.billing.rollup.UsageQueries;
import aimos.model.ModelEntity;
import aimos.node.NodeSettings;
import aimos.node.admin.ModelCatalog;
import aimos.node.metrics.AimosMetrics;
import aimos.tenant.ApiKeys;
import aimos.tenant.Money;
import aimos.tenant.TenantEntity;
import io.grpc.Status;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The public inference API over gRPC ({@code aimos.v1.InferenceService}), a thin facade: inference goes through the
 * one {@link InferenceFlow}, model lists and usage are read for the authenticated tenant. The REST routes use the same
 * {@link #infer} and {@link #startStream}.
 */
public final class InferenceGateway implements InferenceServicePowerApi {
  private final ActorSystem<?> system;
  private final NodeSettings settings;
  private final UsageQueries usage;
  private final ModelCatalog models;
  private final InferenceFlow flow;

  public InferenceGateway(ActorSystem<?> system, NodeSettings settings, AimosMetrics metrics, UsageQueries usage,
                          ModelCatalog models, aimos.node.health.StoreHealth store, Directories directories,
                          CallTiming timings) {
    this.system = system;
    this.settings = settings;
    this.usage = usage;
    this.models = models;
    this.flow = new InferenceFlow(system, settings, metrics, store, directories, timings);
  }

  @Override
  public CompletionStage<InferResponse> infer(InferRequest in, Metadata metadata) {
    return flow.serve(in, metadata);
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
    return flow.stream(in, metadata);
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
        .thenApply(InferenceMapping::toProto));
  }
  private CompletionStage<String> authenticated(Metadata metadata) {
    ApiKeys.Presented key;
    try {
      key = apiKey(metadata);
    } catch (GrpcServiceException e) {
      return CompletableFuture.failedFuture(e);
    }
    return AskPattern.<TenantEntity.Command, TenantEntity.Admission>ask(
            ClusterSharding.get(system).entityRefFor(TenantEntity.ENTITY_KEY, key.tenantId()),
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
}
