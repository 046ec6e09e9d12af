package aimos.node.admin;

import aimos.api.v1.BillingUnit;
import aimos.billing.pricing.PriceCatalog;
import aimos.model.ModelEntity;
import aimos.model.directory.ModelDirectory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/** Registers and lists models and their versions, through the model entities and the directory. */
public final class ModelCatalog {
  private final ActorSystem<?> system;
  private final Duration timeout;
  /** The prices in force now: their unit prices are the defaults of versions registered now. */
  private final java.util.function.Supplier<PriceCatalog> prices;
  private final java.util.Map<String, aimos.model.runtime.OpenAiUpstreamRuntime.Provider> upstreams;

  public ModelCatalog(ActorSystem<?> system, Duration timeout, java.util.function.Supplier<PriceCatalog> prices,
                      java.util.Map<String, aimos.model.runtime.OpenAiUpstreamRuntime.Provider> upstreams) {
    this.system = system;
    this.timeout = timeout;
    this.prices = prices;
    this.upstreams = upstreams;
  }

  private EntityRef<ModelEntity.Command> model(String name) {
    if (!ModelEntity.isValidName(name)) {
      throw new IllegalArgumentException("model name must be " + ModelEntity.nameRule() + ", was '" + name + "'");
    }
    return ClusterSharding.get(system).entityRefFor(ModelEntity.ENTITY_KEY, name);
  }

  public CompletionStage<ModelEntity.ModelView> register(String name, String description) {
    return model(name).<ModelEntity.ModelView>askWithStatus(rt -> new ModelEntity.Register(description, rt), timeout)
        .thenCompose(view -> ModelDirectory.ref(system)
            .<Done>ask(rt -> new ModelDirectory.Add(name, rt), timeout).thenApply(d -> view));
  }

  /** Adds a version without a fallback. */
  public CompletionStage<ModelEntity.ModelView> addVersion(String name, String version, String runtime,
                                                           BillingUnit unit, long unitPriceMicros, int replicas,
                                                           int deviceMemoryMb) {
    return addVersion(name, version, runtime, unit, unitPriceMicros, replicas, deviceMemoryMb, "");
  }

  /**
   * Adds a version; a negative price means the default price for the billing unit in the price list in force now. An upstream runtime must name a
   * configured provider.
   */
  public CompletionStage<ModelEntity.ModelView> addVersion(String name, String version, String runtime,
                                                           BillingUnit unit, long unitPriceMicros, int replicas,
                                                           int deviceMemoryMb, String fallback) {
    java.nio.file.Path onnx = aimos.model.runtime.OnnxImageRuntime.fileOf(runtime);
    if (onnx != null && !java.nio.file.Files.isReadable(onnx)) {
      throw new IllegalArgumentException("runtime " + runtime + ": no readable model file " + onnx + " on this node "
          + "(it must be on every node that hosts the model)");
    }
    String provider = aimos.model.runtime.OpenAiUpstreamRuntime.providerOf(runtime);
    if (provider != null && !upstreams.containsKey(provider)) {
      throw new IllegalArgumentException("runtime " + runtime + " needs upstream provider '" + provider + "', which is "
          + "not configured (aimos.upstream.providers" + (upstreams.isEmpty() ? " is empty"
          : ": " + String.join(", ", upstreams.keySet())) + ")");
    }
    long price = unitPriceMicros >= 0 || unit == BillingUnit.BILLING_UNIT_UNSPECIFIED || unit == BillingUnit.UNRECOGNIZED
        ? unitPriceMicros
        : prices.get().defaultUnitPriceMicros(unit);
    return model(name).askWithStatus(rt -> new ModelEntity.AddVersion(version, runtime, unit, price, replicas,
            deviceMemoryMb, fallback, rt),
        timeout);
  }

  public CompletionStage<ModelEntity.ModelView> get(String name) {
    return model(name).askWithStatus(ModelEntity.Get::new, timeout);
  }

  /** Retires a version (see {@link ModelEntity.RetireVersion}); a retired one again: no change. */
  public CompletionStage<ModelEntity.ModelView> retire(String name, String version) {
    return model(name).askWithStatus(rt -> new ModelEntity.RetireVersion(version, rt), timeout);
  }

  public CompletionStage<ModelEntity.LeaseReport> leases(String name) {
    return model(name).ask(ModelEntity.GetLeases::new, timeout);
  }

  public CompletionStage<List<ModelEntity.ModelView>> list() {
    return ModelDirectory.ref(system).<ModelDirectory.Names>ask(ModelDirectory.List_::new, timeout)
        .thenCompose(names -> {
          List<CompletableFuture<ModelEntity.ModelView>> views = new ArrayList<>();
          names.names().forEach(n -> views.add(get(n).toCompletableFuture()));
          return CompletableFuture.allOf(views.toArray(CompletableFuture[]::new))
              .thenApply(v -> views.stream().map(CompletableFuture::join).toList());
        });
  }
}
