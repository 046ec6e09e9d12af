package aimos.node;

import aimos.api.v1.InferenceService;
import aimos.api.v1.InferenceServicePowerApiHandlerFactory;
import aimos.billing.ledger.CassandraLedgerRepository;
import aimos.billing.ledger.LedgerReader;
import aimos.billing.ledger.LedgerRepository;
import aimos.billing.pricing.PriceBookEntity;
import aimos.billing.pricing.PriceBookReplica;
import aimos.billing.rollup.CassandraRollupRepository;
import aimos.billing.rollup.UsageQueries;
import aimos.billing.pricing.PriceCatalog;
import aimos.billing.pricing.PricingSettings;
import aimos.billing.projection.BillingProjection;
import aimos.billing.projection.FeedOffsets;
import aimos.billing.projection.UsageFeed;
import aimos.billing.projection.UsageNoticeTopics;
import aimos.billing.alerts.BudgetAlertProjection;
import aimos.billing.webhook.WebhookSettings;
import aimos.billing.webhook.Webhooks;
import aimos.node.admin.BillingNotifyAdminRoutes;
import aimos.node.gateway.TenantAdminRoutes;
import aimos.node.tls.PemTls;
import aimos.node.tls.RotatingServerTls;
import aimos.node.admin.InvoiceClosing;
import aimos.node.admin.InvoiceRoutes;
import aimos.node.admin.PrivacyRoutes;
import aimos.node.admin.TenantPrivacy;
import aimos.billing.invoice.InvoiceClose;
import aimos.billing.invoice.InvoiceStore;
import aimos.billing.invoice.Invoices;
import aimos.billing.sla.JournalSla;
import aimos.node.gateway.TenantBillingRoutes;
import aimos.billing.reconciliation.Reconciler;
import aimos.model.ModelEntity;
import aimos.model.directory.ModelDirectory;
import aimos.node.gateway.Directories;
import aimos.node.gateway.GatewayGuard;
import aimos.tenant.directory.TenantDirectory;
import aimos.model.sandbox.SandboxIsolation;
import aimos.model.sandbox.SandboxSettings;
import aimos.model.sandbox.WorkerHost;
import aimos.access.audit.AuditChain;
import aimos.access.audit.AuditLog;
import aimos.access.audit.AuditStore;
import aimos.access.privacy.TenantDataKeys;
import aimos.access.token.AdminTokenEntity;
import aimos.node.access.AuditTrail;
import java.security.PrivateKey;
import java.util.Optional;
import aimos.access.token.LoginThrottle;
import aimos.node.access.AccessPolicy;
import aimos.node.access.Authenticator;
import aimos.node.access.TokenAdmin;
import aimos.node.admin.AdminRoutes;
import aimos.node.admin.DrillRuns;
import aimos.node.admin.ModelCatalog;
import aimos.node.admin.NodeState;
import aimos.node.admin.PriceAdmin;
import aimos.node.admin.Reconciliation;
import aimos.node.admin.SandboxFleet;
import aimos.node.admin.TenantAdmin;
import aimos.node.admin.TenantUsage;
import aimos.node.gateway.TenantUsageRoutes;
import aimos.model.runtime.OpenAiUpstreamRuntime;
import aimos.node.gateway.InferenceGateway;
import aimos.node.gateway.KeyCheck;
import aimos.node.gateway.OipRoutes;
import aimos.node.gateway.OpenAiRoutes;
import aimos.node.health.StoreHealth;
import aimos.node.gateway.RestRoutes;
import aimos.node.gateway.UnaryInfer;
import aimos.node.metrics.AimosMetrics;
import aimos.tenant.TenantEntity;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.grpc.javadsl.ServerReflection;
import org.apache.pekko.grpc.javadsl.ServiceHandler;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.apache.pekko.projection.cassandra.javadsl.CassandraProjection;
import org.apache.pekko.stream.connectors.cassandra.CassandraSessionSettings;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSessionRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The composition root: one AIMOS cluster node. Tests call {@link #init} the same way {@link #main} does. */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "aimos", NodeConfig.load(ConfigFactory.empty()));
    try {
      Node node = init(system);
      node.gatewayBinding().toCompletableFuture().join();
    } catch (RuntimeException e) {
      log.error("AIMOS node failed to start: {}", e.getMessage(), e);
      system.terminate();
      System.exit(1);
    }
    // A node downed by the split brain resolver (or stopped by SIGTERM) has terminated its actor system; the process
    // ends with it so that its supervisor (Kubernetes, bin/aimos cluster) can start a fresh incarnation. It also ends
    // when coordinated shutdown has run all its phases but the actor system has not finished terminating: an Artery
    // tls-tcp connection to a peer behind a network cut can hold that back indefinitely.
    java.util.concurrent.CompletableFuture<Object> shutdownRun = new java.util.concurrent.CompletableFuture<>();
    org.apache.pekko.actor.CoordinatedShutdown shutdown = org.apache.pekko.actor.CoordinatedShutdown.get(system);
    shutdown.addTask(org.apache.pekko.actor.CoordinatedShutdown.PhaseBeforeServiceUnbind(), "aimos-exit-watch", () -> {
      shutdown.runAll(org.apache.pekko.actor.CoordinatedShutdown.unknownReason())
          .whenComplete((done, e) -> shutdownRun.complete(done));
      return java.util.concurrent.CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance());
    });
    java.util.concurrent.CompletableFuture.anyOf(system.getWhenTerminated().toCompletableFuture(), shutdownRun).join();
    log.info(system.getWhenTerminated().toCompletableFuture().isDone() ? "Actor system terminated; exiting"
        : "Coordinated shutdown done, actor system still terminating; exiting");
    System.exit(0);
  }

  /** What a started node exposes to its launcher and to tests. */
  public record Node(ActorSystem<?> system, NodeSettings settings, AimosMetrics metrics, TenantAdmin tenants,
                     ModelCatalog models, LedgerReader ledger, UsageQueries usage,
                     CompletionStage<ServerBinding> gatewayBinding, InvoiceClosing invoiceClose) {

    public int gatewayPort() {
      return gatewayBinding.toCompletableFuture().join().localAddress().getPort();
    }

    public void shutdown() {
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.warn("Node did not stop within 60 s: {}", e.toString());
      }
    }
  }

  public static Node init(ActorSystem<?> system) {
    Config config = system.settings().config();
    NodeSettings settings = NodeSettings.from(config);
    WorkerTransport.check(config);
    AimosMetrics metrics = new AimosMetrics(config.getBoolean("aimos.metrics.jvm"), settings.serverRequestTimeout());
    metrics.watchCluster(system);
    PricingSettings pricing = PricingSettings.from(config.getConfig("aimos.billing"));
    PriceCatalog catalog = pricing.configured();

    CassandraSession session = CassandraSessionRegistry.get(system)
        .sessionFor(CassandraSessionSettings.create("pekko.projection.cassandra.session-config"));
    if (settings.createTables()) {
      CassandraLedgerRepository.createTables(session, settings.billingKeyspace()).toCompletableFuture().join();
      CassandraProjection.createTablesIfNotExists(system).toCompletableFuture().join();
    }
    LedgerRepository ledger = new CassandraLedgerRepository(session, settings.billingKeyspace());
    // the outbox billing publishes to (invoices, credit notes, budget alerts, SLA credits) and this node's dispatchers
    if (settings.createTables()) {
      TenantDataKeys.createTables(session, settings.billingKeyspace()).toCompletableFuture().join();
    }
    // seals each tenant's personal data wherever it is stored; erasing a tenant destroys its key
    TenantDataKeys dataKeys = new TenantDataKeys(session, settings.billingKeyspace(),
        config.getDuration("aimos.privacy.key-cache-ttl"), Clock.systemUTC(), System::nanoTime);
    Webhooks webhooks = Webhooks.start(system, session, settings.billingKeyspace(),
        WebhookSettings.from(config.getConfig("aimos.webhooks")), settings.createTables(), Clock.systemUTC(),
        metrics, dataKeys);
    CassandraRollupRepository rollups = new CassandraRollupRepository(session, settings.billingKeyspace());
    UsageQueries usage = new UsageQueries(rollups);
    LedgerReader ledgerReader = new LedgerReader(ledger, usage::sequenceRange);
    TenantUsage tenantUsage = new TenantUsage(usage, ledgerReader);
    JournalSla sla = new JournalSla(system, usage::sequenceRange);
    Invoices invoices = InvoiceRoutes.start(system, session, settings.billingKeyspace(), settings.createTables(),
        ledgerReader, usage, new Reconciliation(system, new Reconciler(system, ledger, rollups,
            config.getDuration("aimos.billing.reconcile-grace")), metrics), sla, webhooks.outbox(),
        config.getDuration("aimos.billing.invoice-grace"));

    PriceBookEntity.init(system, pricing.configured(), pricing.lead());
    // tenant entities price with this node's copy of the price book: no remote call on the request path
    PriceBookReplica prices = PriceBookReplica.start(system, pricing, settings.askTimeout());
    UsageNoticeTopics usageNotices = UsageNoticeTopics.start(system);
    TenantEntity.init(system, new TenantEntity.Settings(config.getDuration("aimos.tenant.admission-timeout"),
        config.getDuration("aimos.tenant.worker-lease-wait"), Clock.systemUTC())
        .withSnapshotEvery(config.getInt("aimos.tenant.snapshot-every")), prices, usageNotices);
    ModelEntity.init(system, modelSettings(config));
    ModelDirectory.init(system);
    TenantDirectory.init(system);
    BillingProjection.init(system, BillingProjection.parts(system, ledger, rollups, metrics,
        new FeedOffsets(session, settings.billingKeyspace()), settings.askTimeout()), usageNotices,
        UsageFeed.Settings.from(config.getConfig("aimos.billing.feed")));
    BudgetAlertProjection.init(system, webhooks.outbox());
    SandboxSettings sandboxSettings = sandboxSettings(config);
    system.systemActorOf(WorkerHost.create(sandboxSettings, metrics, new WorkerHost.Capacity(
        config.getString("aimos.worker.device"), config.getInt("aimos.worker.device-memory-mb"))),
        "worker-host", Props.empty());

    TenantAdmin tenants = new TenantAdmin(system, settings.askTimeout(), tenantUsage, session, dataKeys);
    ModelCatalog models = new ModelCatalog(system, settings.askTimeout(), () -> prices.inForceNow().prices(),
        OpenAiUpstreamRuntime.providers(config));

    Config health = config.getConfig("aimos.store-health");
    StoreHealth store = new StoreHealth(session, health.getDuration("timeout"), health.getInt("failures-to-down"),
        metrics::storeAvailable);
    store.schedule(system, health.getDuration("interval"));
    NodeState.get(system).store(store::available);
    Directories directories = Directories.start(system, settings.askTimeout());
    AdminTokenEntity.init(system, config.getDuration("aimos.access.rotation-overlap"));
    if (settings.createTables()) {
      AuditStore.createTables(session, settings.billingKeyspace()).toCompletableFuture().join();
    }
    AuditStore auditStore = new AuditStore(session, settings.billingKeyspace());
    Optional<PrivateKey> auditKey = auditSigningKey(config.getString("aimos.audit.signing-key-file"));
    AuditLog.init(system, auditStore, auditKey);
    AuditTrail audit = new AuditTrail(system, settings.askTimeout(), auditStore, auditKey
        .map(k -> AuditChain.pem("PUBLIC KEY", AuditChain.publicKeyOf(k).getEncoded())));
    KeyCheck keyCheck = new KeyCheck(system, settings.askTimeout(), directories.tenants());
    aimos.node.gateway.CallTiming timings = new aimos.node.gateway.CallTiming(metrics::overhead);
    InferenceGateway gateway = new InferenceGateway(system, settings, metrics, usage, models, store, directories,
        timings);
    // one port: gRPC (with reflection for grpcurl) first, everything else to the REST routes
    var handler = ServiceHandler.concatOrNotFound(
        InferenceServicePowerApiHandlerFactory.partial(gateway, InferenceService.name, system),
        aimos.api.v1.BillingServicePowerApiHandlerFactory.partial(
            new aimos.node.gateway.BillingGateway(invoices, tenantUsage, keyCheck), aimos.api.v1.BillingService.name,
            system),
        aimos.grpc.health.v1.HealthHandlerFactory.partial(new aimos.node.health.GrpcHealth(
            () -> NodeState.get(system).ready(), java.util.Set.of(InferenceService.name,
            aimos.api.v1.BillingService.name, aimos.grpc.health.v1.Health.name), java.time.Duration.ofSeconds(1)),
            aimos.grpc.health.v1.Health.name, system),
        // reflection lists exactly the services this handler serves
        ServerReflection.create(List.of(InferenceService.description, aimos.api.v1.BillingService.description,
            aimos.grpc.health.v1.Health.description), system),
        new RestRoutes(models, directories.models(), keyCheck, org.apache.pekko.http.javadsl.server.Directives.concat(
            new OpenAiRoutes(gateway, config.getBytes("aimos.gateway.max-request-bytes"),
                settings.serverRequestTimeout()).route(),
            new OipRoutes(gateway, models, config.getBytes("aimos.gateway.max-request-bytes"),
                keyCheck).route(),
            new TenantAdminRoutes(webhooks.endpoints(), tenants, keyCheck, audit).route(),
            new TenantBillingRoutes(invoices, tenantUsage, keyCheck).route()),
            new TenantUsageRoutes(tenantUsage)).route()
            .handler(system));
    GatewayGuard guard = new GatewayGuard(system, new UnaryInfer(gateway, request -> {
          try {
            return handler.apply(request);
          } catch (Exception e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
          }
        }, system), keyCheck,
        maxGrpcBytes(settings, config), settings.bodyTimeout(), metrics);
    Optional<RotatingServerTls> gatewayTls = serverTls(config, false);
    var server = Http.get(system).newServerAt(settings.gatewayHost(), settings.gatewayPort());
    CompletionStage<ServerBinding> binding = gatewayTls.map(t -> server.enableHttps(t.connectionContext()))
        .orElse(server)
        .withSettings(gatewayServerSettings(config))
        .bind(RequestBodyTimeout.handler(timings.around(guard::handle)::apply, settings.bodyTimeout(), system))
        .whenComplete((b, err) -> {
          if (err != null) {
            log.error("Gateway could not bind {}:{} ({}). Is another AIMOS node running? Set AIMOS_GATEWAY_PORT "
                + "to use another port.", settings.gatewayHost(), settings.gatewayPort(), err.getMessage());
          } else {
            NodeState.get(system).gatewayBound(true);
            log.info("Gateway (gRPC and REST) listening on {} ({})", b.localAddress(),
                gatewayTls.isPresent() ? "TLS" : "plaintext: set AIMOS_TLS_CERT_FILE and AIMOS_TLS_KEY_FILE for TLS");
          }
        });

    Reconciliation reconciliation = new Reconciliation(system, new Reconciler(system, ledger, rollups,
        config.getDuration("aimos.billing.reconcile-grace")), metrics);
    reconciliation.schedule(config.getDuration("aimos.billing.reconcile-interval"));
    // finalizes closed months (month end plus invoice-grace) on the oldest node; idempotent if runs overlap
    InvoiceClosing invoiceClose = new InvoiceClosing(system, new InvoiceClose(system, invoices,
        new InvoiceStore(session, settings.billingKeyspace()), rollups::tenantMonths), metrics, Clock.systemUTC());
    invoiceClose.schedule(config.getDuration("aimos.billing.invoice-close-interval"));
    String gatewayHost = settings.gatewayHost().equals("0.0.0.0") ? "127.0.0.1" : settings.gatewayHost();
    DrillRuns drills = new DrillRuns(system,
        () -> gatewayHost + ":" + binding.toCompletableFuture().join().localAddress().getPort(),
        config.getString("pekko.management.http.hostname") + ":" + config.getInt("pekko.management.http.port"),
        settings.adminToken(), settings.secopsToken(), Path.of(config.getString("aimos.chaos.report-dir")),
        sandboxSettings);
    Authenticator authenticator = new Authenticator(settings.adminToken(), settings.secopsToken(),
        id -> TokenAdmin.lookup(system, settings.askTimeout(), id),
        new LoginThrottle(config.getInt("aimos.access.failed-logins.burst"),
            config.getDuration("aimos.access.failed-logins.refill-interval"), System::nanoTime),
        config.getDuration("aimos.access.token-cache-ttl"), Clock.systemUTC(), System::nanoTime);
    InvoiceRoutes invoiceRoutes = new InvoiceRoutes(invoices, sla, tenants, invoiceClose);
    PrivacyRoutes privacyRoutes = new PrivacyRoutes(new TenantPrivacy(tenants, dataKeys, webhooks.endpoints(),
        webhooks.store(), invoices, Clock.systemUTC()));
    BillingNotifyAdminRoutes billingNotify = new BillingNotifyAdminRoutes(system, settings.askTimeout(), tenants,
        webhooks.endpoints());
    NodeState.get(system).installRoutes(RequestBodyTimeout.route(config.getDuration("aimos.management.body-timeout"),
        system, new AdminRoutes(tenants, models, new SandboxFleet(system, settings.askTimeout()), reconciliation,
            new PriceAdmin(system, settings.askTimeout(), prices, Clock.systemUTC()), drills, metrics,
            authenticator, AccessPolicy.standard(), new TokenAdmin(system, settings.askTimeout(), authenticator),
            audit, new AdminRoutes.Extensions(id -> org.apache.pekko.http.javadsl.server.Directives.concat(
                billingNotify.tenantRoutes(id), invoiceRoutes.tenantRoutes(id), privacyRoutes.tenantRoutes(id)),
                invoiceRoutes::adminRoutes, path -> {
                  CompletionStage<Object> endpointOrAlerts = billingNotify.before(path);
                  return endpointOrAlerts != null ? endpointOrAlerts : invoiceRoutes.before(path);
                })).route()));
    Optional<RotatingServerTls> managementTls = serverTls(config,
        config.getBoolean("aimos.tls.management-client-certificates"));
    PekkoManagement.get(system).start(s -> managementTls.map(t -> s.withHttpsConnectionContext(t.connectionContext()))
        .orElse(s)).whenComplete((uri, err) -> {
      if (err != null) {
        log.error("Management HTTP could not start ({}); set AIMOS_MANAGEMENT_PORT to use another port",
            err.getMessage());
      } else {
        log.info("Management HTTP listening on {}", uri);
      }
    });

    if (settings.clusterFormation().equals("kubernetes")) {
      ClusterBootstrap.get(system).start();
    } else if (config.getList("pekko.cluster.seed-nodes").isEmpty()) {
      Cluster cluster = Cluster.get(system);
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }
    return new Node(system, settings, metrics, tenants, models, ledgerReader, usage, binding, invoiceClose);
  }

  /** The node's TLS identity for a server port, if configured; a configured one that does not load stops the node. */
  private static Optional<RotatingServerTls> serverTls(Config config, boolean requireClientCertificate) {
    Config tls = config.getConfig("aimos.tls");
    String cert = tls.getString("certificate-file");
    String key = tls.getString("private-key-file");
    if (cert.isEmpty() != key.isEmpty()) {
      throw new IllegalArgumentException("set both AIMOS_TLS_CERT_FILE and AIMOS_TLS_KEY_FILE (aimos.tls."
          + "certificate-file and private-key-file), or neither for plaintext");
    }
    if (cert.isEmpty()) {
      if (requireClientCertificate) {
        throw new IllegalArgumentException("aimos.tls.management-client-certificates needs a certificate, key and CA");
      }
      return Optional.empty();
    }
    String ca = tls.getString("ca-file");
    try {
      return Optional.of(new RotatingServerTls(new PemTls.PemFiles(Path.of(cert), Path.of(key),
          ca.isEmpty() ? Optional.empty() : Optional.of(Path.of(ca))), requireClientCertificate,
          tls.getDuration("reload-check-interval"), System::nanoTime));
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      throw new IllegalArgumentException("TLS files do not load: " + e.getMessage(), e);
    }
  }

  /** pekko.http.server's settings (HTTP/2, the reset throttle) with the gateway's own idle timeout. */
  /**
   * The gateway's HTTP server: its own idle timeout, and bodies up to the largest gRPC request (GatewayGuard and the
   * REST routes bound each kind of request further).
   */
  static ServerSettings gatewayServerSettings(Config config) {
    NodeSettings settings = NodeSettings.from(config);
    java.time.Duration requests = settings.serverRequestTimeout();
    // a connection waiting for a slow model's answer sends nothing: it must not count as idle before the answer
    java.time.Duration idle = config.getDuration("aimos.gateway.idle-timeout");
    if (idle.compareTo(requests.plusSeconds(30)) < 0) {
      idle = requests.plusSeconds(30);
    }
    return ServerSettings.create(config
        .withValue("pekko.http.server.request-timeout", ConfigValueFactory.fromAnyRef(requests.toMillis() + "ms"))
        .withValue("pekko.http.server.idle-timeout", ConfigValueFactory.fromAnyRef(idle.toMillis() + "ms"))
        .withValue("pekko.http.server.parsing.max-content-length",
            ConfigValueFactory.fromAnyRef(maxGrpcBytes(settings, config))));
  }

  /** The largest gRPC request: the largest REST body, or audio (twice an image) with room for its grammar. */
  static long maxGrpcBytes(NodeSettings settings, Config config) {
    return Math.max(config.getBytes("aimos.gateway.max-request-bytes"), 2L * settings.maxImageBytes() + 1024 * 1024);
  }

  static ModelEntity.Settings modelSettings(Config config) {
    Config m = config.getConfig("aimos.model");
    return new ModelEntity.Settings(m.getDuration("lease-ttl"), m.getDuration("lease-queue-timeout"),
        m.getInt("lease-queue-limit"), m.getDuration("worker-heartbeat-timeout"), java.time.Duration.ofMillis(250),
        m.getInt("snapshot-every"));
  }

  static SandboxSettings sandboxSettings(Config config) {
    Config s = config.getConfig("aimos.sandbox");
    String java = s.getString("java").isEmpty()
        ? Path.of(System.getProperty("java.home"), "bin", "java").toString()
        : s.getString("java");
    String classpath = s.getString("classpath").isEmpty() ? System.getProperty("java.class.path") : s.getString("classpath");
    for (String option : s.getStringList("jvm-options")) {
      if (option.startsWith("-Daimos.sandbox.extra-runtime")) {
        throw new IllegalArgumentException("aimos.sandbox.jvm-options may not set aimos.sandbox.extra-runtime: it loads "
            + "a runtime class by name, which only tests do");
      }
    }
    Config c = s.getConfig("containment");
    var containment = new aimos.model.sandbox.SandboxContainment.Settings(
        aimos.model.sandbox.SandboxContainment.Mode.parse(c.getString("mode")), c.getLong("uid"), c.getLong("gid"),
        c.getString("cache-dir").isBlank() ? aimos.model.sandbox.SandboxContainment.Settings.defaultCacheDir()
            : Path.of(c.getString("cache-dir")), c.getStringList("read-only-paths"), c.getInt("tmp-mb"));
    SandboxIsolation isolation = SandboxIsolation.probe(new SandboxIsolation.Limits(s.getInt("memory-mb"),
        s.getDouble("cpus"), s.getInt("max-processes"), s.getInt("max-open-files"), s.getBoolean("no-network")),
        containment);
    return new SandboxSettings(java, s.getStringList("jvm-options"), classpath, Path.of(s.getString("work-dir")),
        s.getInt("slots"), s.getDuration("request-timeout"), s.getDuration("start-timeout"),
        s.getDuration("heartbeat"), s.getDuration("backoff-min"), s.getDuration("backoff-max"),
        s.getDuration("ping-interval"), s.getDuration("ping-timeout"), s.getInt("missed-pings"),
        s.getDuration("failure-window"), s.getInt("quarantine-after"), s.getDuration("probe-interval"),
        s.getInt("max-reply-bytes"), isolation, OpenAiUpstreamRuntime.providers(config), Map.of());
  }


  /** The audit signing key, or none (records then carry no signature, which start-up warns about). */
  static Optional<PrivateKey> auditSigningKey(String file) {
    if (file.isBlank()) {
      log.warn("Audit records are hash-chained but not signed: set AIMOS_AUDIT_SIGNING_KEY_FILE "
          + "(aimos.audit.signing-key-file) to an Ed25519 key (openssl genpkey -algorithm ed25519) on every node");
      return Optional.empty();
    }
    try {
      return Optional.of(AuditChain.privateKey(java.nio.file.Files.readString(Path.of(file))));
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot read the audit signing key " + file + ": " + e.getMessage(), e);
    }
  }
}
