package aimos.node.admin;

import aimos.api.v1.BillingUnit;
import aimos.internal.sandbox.Fault;
import aimos.access.token.Principal;
import aimos.node.BearerToken;
import aimos.node.access.AccessPolicy;
import aimos.node.access.AuditTrail;
import aimos.node.access.Authenticator;
import aimos.node.access.TokenAdmin;
import aimos.node.metrics.AimosMetrics;
import aimos.tenant.KeyScope;
import aimos.tenant.Money;
import aimos.tenant.Plan;
import aimos.tenant.TenantEntity;
import aimos.node.BoundedBody;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.prometheus.client.exporter.common.TextFormat;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API (bearer tokens with roles; see {@link AccessPolicy}) and Prometheus {@code /metrics}, served on the management port.
 * Errors are JSON {@code {"error": {"code": ..., "message": ...}}} with the matching HTTP status.
 */
public final class AdminRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ContentType PROMETHEUS = ContentTypes.parse(TextFormat.CONTENT_TYPE_004);

  private final TenantAdmin tenants;
  private final ModelCatalog models;
  private final SandboxFleet sandboxes;
  private final Reconciliation reconciliation;
  private final PriceAdmin prices;
  private final DrillRuns drills;
  private final AimosMetrics metrics;
  private final Authenticator authenticator;
  private final AccessPolicy policy;
  private final TokenAdmin tokens;
  private final AuditTrail audit;
  private final aimos.node.access.AuditedRoute audited;
  private final Extensions extensions;

  /**
   * Routes other parts of the node add to the admin API, behind its authentication, access policy and audit:
   * {@code tenant} under {@code /admin/tenants/{id}} (given the id), {@code admin} under {@code /admin}.
   * {@code before} gives, for the audit record, the state a mutation of one of their paths changes (an invoice, a
   * webhook endpoint, budget alerts), or null for a path that is not theirs.
   */
  public record Extensions(Function<String, Route> tenant, Supplier<Route> admin,
                           Function<String, CompletionStage<Object>> before) {}

  public AdminRoutes(TenantAdmin tenants, ModelCatalog models, SandboxFleet sandboxes, Reconciliation reconciliation,
                     PriceAdmin prices, DrillRuns drills, AimosMetrics metrics, Authenticator authenticator,
                     AccessPolicy policy, TokenAdmin tokens, AuditTrail audit, Extensions extensions) {
    this.tenants = tenants;
    this.models = models;
    this.sandboxes = sandboxes;
    this.reconciliation = reconciliation;
    this.prices = prices;
    this.drills = drills;
    this.metrics = metrics;
    this.authenticator = authenticator;
    this.policy = policy;
    this.tokens = tokens;
    this.audit = audit;
    this.audited = new aimos.node.access.AuditedRoute(audit, MAX_BODY_BYTES, AdminRoutes::error);
    this.extensions = extensions;
  }

  public Route route() {
    return concat(
        aimos.node.OpenApi.route(),
        path("metrics", () -> get(() -> complete(HttpResponse.create()
            .withEntity(HttpEntities.create(PROMETHEUS, metrics.scrape().getBytes(StandardCharsets.UTF_8)))))),
        pathPrefix("admin", () -> authenticated(principal -> authorized(principal, () -> concat(
            path("whoami", () -> get(() -> respond(StatusCodes.OK, () -> CompletableFuture.completedFuture(
                whoami(principal))))),
            pathPrefix("tokens", () -> tokenRoutes(principal)),
            pathPrefix("audit", this::auditRoutes),
            pathPrefix("chaos", () -> concat(
                    path(PathMatchers.segment("drills").slash(PathMatchers.segment()), drill -> post(() ->
                        parameterOptional("duration", duration -> parameterOptional("rate", rate ->
                            parameterOptional("seed", seed -> respond(StatusCodes.ACCEPTED, () ->
                                CompletableFuture.completedFuture(drills.start(drill,
                                    aimos.chaos.load.LoadCommand.duration(duration.orElse("30s")),
                                    number(rate.orElse("50"), "rate"), number(seed.orElse("1"), "seed"))))))))),
                    path(PathMatchers.segment("runs").slash(PathMatchers.segment()), id -> get(() ->
                        respond(StatusCodes.OK, () -> CompletableFuture.completedFuture(drills.get(id))))))),
            path(PathMatchers.segment("sandboxes").slash(PathMatchers.segment()).slash(PathMatchers.segment())
                .slash("faults"), (model, version) -> post(() ->
                    jsonBody(body -> respond(StatusCodes.ACCEPTED, () -> injectFault(model, version, body))))),
                    pathPrefix("tenants", this::tenantRoutes),
                    extensions.admin() == null ? reject() : extensions.admin().get(),
                    pathPrefix("models", this::modelRoutes),
                    path("sandboxes", () -> get(() -> respond(StatusCodes.OK, sandboxes::statuses))),
                    path("prices", () -> concat(
                        get(() -> respond(StatusCodes.OK, prices::list)),
                        post(() -> jsonBody(body -> respond(StatusCodes.CREATED,
                            () -> prices.add(PriceListRequest.parse(body))))))),
                    path("reconciliation", () -> post(() -> parameterOptional("tenant", tenant ->
                        parameterOptional("repair", repair -> respond(StatusCodes.OK, () -> reconciliation.run(
                            tenant.map(TenantAdmin::validTenantId).orElse(null), repair(repair))))))),
                    complete(error(StatusCodes.NOT_FOUND, "no such admin route; see the README's admin API table")))))));
  }

  private Route tokenRoutes(Principal principal) {
    return concat(
        pathEnd(() -> concat(
            get(() -> respond(StatusCodes.OK, tokens::list)),
            post(() -> jsonBody(body -> respond(StatusCodes.CREATED,
                () -> tokens.issue(text(body, "name"), text(body, "role"), principal)))))),
        path(PathMatchers.segment().slash("rotate"), id -> post(() -> respond(StatusCodes.OK,
            () -> tokens.rotate(id, principal)))),
        path(PathMatchers.segment(), id -> delete(() -> respond(StatusCodes.OK, () -> tokens.revoke(id, principal)))));
  }

  private static Map<String, Object> whoami(Principal p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", p.name());
    m.put("role", p.role().label());
    m.put("tokenId", p.tokenId().isEmpty() ? null : p.tokenId());
    return m;
  }

  private CompletionStage<Map<String, Object>> injectFault(String model, String version, JsonNode body) {
    Fault fault;
    try {
      fault = Fault.valueOf(text(body, "fault").toUpperCase());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("fault must be one of CRASH, HANG, LEAK_MEMORY, GARBAGE, OVERSIZED, SLOW, SILENT_WORKER, CPU_BUSY");
    }
    if (fault == Fault.FAULT_NONE || fault == Fault.UNRECOGNIZED) {
      throw new IllegalArgumentException("fault must be one of CRASH, HANG, LEAK_MEMORY, GARBAGE, OVERSIZED, SLOW, SILENT_WORKER, CPU_BUSY");
    }
    int count = body.has("count") ? intField(body, "count") : 1;
    if (count < 1 || count > 1_000_000) {
      throw new IllegalArgumentException("count must be between 1 and 1000000, was " + count);
    }
    int delayMs = body.has("delayMs") ? intField(body, "delayMs") : 0;
    if ((fault == Fault.SLOW || fault == Fault.SILENT_WORKER || fault == Fault.CPU_BUSY) && (delayMs < 1 || delayMs > 600_000)) {
      throw new IllegalArgumentException("a " + fault + " fault needs delayMs between 1 and 600000");
    }
    return sandboxes.injectFault(model, version, fault, count, delayMs).thenApply(affected -> {
      if (affected.isEmpty()) {
        throw new IllegalArgumentException("no node runs a sandbox for model " + model + " version " + version);
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("fault", fault.name());
      m.put("count", count);
      m.put("delayMs", delayMs);
      m.put("sandboxes", affected);
      return m;
    });
  }

  private Route tenantRoutes() {
    return concat(
        pathEnd(() -> concat(
            post(() -> jsonBody(body -> respond(StatusCodes.CREATED, () -> tenants.create(
                text(body, "id"), text(body, "name"), plan(body.get("plan"))).thenApply(AdminRoutes::tenantJson)))),
            get(() -> parameterOptional("cursor", cursor -> parameterOptional("limit", limit ->
                respond(StatusCodes.OK, () -> tenants.list(cursor, limit).thenApply(AdminRoutes::tenantPageJson))))))),
        pathPrefix(PathMatchers.segment(), id -> concat(
            pathEnd(() -> get(() -> respond(StatusCodes.OK, () -> tenants.get(id).thenApply(AdminRoutes::tenantJson)))),
            path("plan", () -> put(() -> jsonBody(body -> respond(StatusCodes.OK,
                () -> tenants.changePlan(id, plan(body)).thenApply(AdminRoutes::tenantJson))))),
            path("suspend", () -> post(() -> optionalJsonBody(body -> respond(StatusCodes.OK,
                () -> tenants.suspend(id, optionalText(body, "reason", "")).thenApply(AdminRoutes::tenantJson))))),
            path("resume", () -> post(() -> respond(StatusCodes.OK,
                () -> tenants.resume(id).thenApply(AdminRoutes::tenantJson)))),
            pathPrefix("keys", () -> concat(
                pathEnd(() -> post(() -> optionalJsonBody(body -> respond(StatusCodes.CREATED, () -> {
                  KeyScope scope = KeyScope.ofLabel(optionalText(body, "scope", KeyScope.INFERENCE.label()));
                  return tenants.issueKey(id, scope).thenApply(k -> issuedKeyJson(id, k, scope));
                })))),
                path(PathMatchers.segment(), keyId -> delete(() -> respond(StatusCodes.OK,
                    () -> tenants.revokeKey(id, keyId).thenApply(AdminRoutes::tenantJson)))))),
            pathPrefix("usage", () -> concat(
                pathEnd(() -> get(() -> parameterOptional("month", month -> respond(StatusCodes.OK,
                    () -> tenants.usage(id, month))))),
                path("daily", () -> get(() -> parameterOptional("month", month -> respond(StatusCodes.OK,
                    () -> tenants.daily(id, month))))),
                path("hourly", () -> get(() -> parameterOptional("day", day -> respond(StatusCodes.OK,
                    () -> tenants.hourly(id, day))))))),
            pathPrefix("ledger", () -> concat(
                pathEnd(() -> get(() -> parameterOptional("month", month -> parameterOptional("cursor", cursor ->
                    parameterOptional("limit", limit -> respond(StatusCodes.OK,
                        () -> tenants.ledger(id, month, cursor, limit))))))),
                path("export", () -> get(() -> parameterOptional("month", month -> parameterOptional("format",
                    format -> encodeResponse(() -> completeWithFuture(exportResponse(
                        () -> tenants.ledgerExport(id, month, format)))))))))),
            path("location", () -> get(() -> respond(StatusCodes.OK, () -> tenants.location(id)))),
            path("journal-writers", () -> get(() -> respond(StatusCodes.OK, () -> tenants.journalWriters(id)))),
            extensions.tenant() == null ? reject() : extensions.tenant().apply(id)
        )));
  }

  private Route modelRoutes() {
    return concat(
        pathEnd(() -> concat(
            get(() -> respond(StatusCodes.OK, models::list)),
            post(() -> jsonBody(body -> respond(StatusCodes.CREATED,
                () -> models.register(text(body, "name"), optionalText(body, "description", "")))))
        )),
        pathPrefix(PathMatchers.segment(), name -> concat(
            pathEnd(() -> get(() -> respond(StatusCodes.OK, () -> models.get(name)))),
            path("versions", () -> post(() -> jsonBody(body -> respond(StatusCodes.CREATED, () -> models.addVersion(
                name, text(body, "version"), text(body, "runtime"), billingUnit(text(body, "billingUnit")),
                body.hasNonNull("unitPriceUsd") ? Money.parseUsd(body.get("unitPriceUsd").asText()) : -1,
                body.hasNonNull("replicas") ? intField(body, "replicas") : 1,
                body.hasNonNull("deviceMemoryMb") ? intField(body, "deviceMemoryMb") : 0,
                body.hasNonNull("fallback") ? body.get("fallback").asText() : ""))))),
            path(PathMatchers.segment("versions").slash(PathMatchers.segment()).slash("retire"), version ->
                post(() -> respond(StatusCodes.OK, () -> models.retire(name, version)))),
            path("leases", () -> get(() -> respond(StatusCodes.OK, () -> models.leases(name))))
        )));
  }

  // ---- auth ----

  /** The caller's principal from its bearer token; 401 for none or a wrong one, 429 after too many failures. */
  private Route authenticated(Function<Principal, Route> inner) {
    // the connection's own address, never X-Forwarded-For, which a guesser could vary to dodge the throttle
    return extractRequest(request -> optionalHeaderValueByName("Authorization", header -> onSuccess(
        authenticator.authenticate(BearerToken.of(header.orElse("")), request
            .getAttribute(org.apache.pekko.http.javadsl.model.AttributeKeys.remoteAddress)
            .flatMap(org.apache.pekko.http.javadsl.model.RemoteAddress::getAddress)
            .map(java.net.InetAddress::getHostAddress).orElse("unknown")),
        outcome -> {
          if (outcome instanceof Authenticator.Authenticated a) {
            return inner.apply(a.principal());
          }
          metrics.adminAuthFailed(outcome instanceof Authenticator.Throttled);
          if (outcome instanceof Authenticator.Throttled t) {
            long seconds = Math.max(1, (t.retryAfter().toMillis() + 999) / 1000);
            return respondWithHeader(RawHeader.create("Retry-After", Long.toString(seconds)),
                () -> complete(error(StatusCodes.TOO_MANY_REQUESTS, "too many failed logins from this address; "
                    + "retry after " + seconds + " s with a valid token")));
          }
          return respondWithHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"aimos-admin\""),
              () -> complete(error(StatusCodes.UNAUTHORIZED, ((Authenticator.Refused) outcome).message())));
        })));
  }

  /**
   * Deny by default: the route must admit the principal's role ({@link AccessPolicy}). Every call that may change
   * something (any method but GET and HEAD) leaves one audit record before its answer is sent.
   */
  private Route authorized(Principal principal, Supplier<Route> inner) {
    return extractMethod(method -> extractUri(uri -> {
      String m = method.name().equals("HEAD") ? "GET" : method.name();
      String path = uri.path();
      if (!policy.allows(principal.role(), m, path)) {
        return complete(error(StatusCodes.FORBIDDEN, "role '" + principal.role().label() + "' may not call "
            + m + " " + path + "; roles that may: " + policy.describe(m, path)));
      }
      return m.equals("GET") ? inner.get() : audited.audited(principal, m + " " + policy.templateFor(m, path), path,
          () -> before(path), inner);
    }));
  }

  private static final java.util.regex.Pattern TENANT_PATH =
      java.util.regex.Pattern.compile("/admin/tenants/([^/]+)/.+");
  private static final java.util.regex.Pattern TOKEN_PATH =
      java.util.regex.Pattern.compile("/admin/tokens/([0-9a-f]{16})(/rotate)?");
  private static final java.util.regex.Pattern MODEL_PATH =
      java.util.regex.Pattern.compile("/admin/models/([^/]+)/versions(/[^/]+/retire)?");
  private static final java.util.regex.Pattern SANDBOX_PATH =
      java.util.regex.Pattern.compile("/admin/sandboxes/([^/]+)/([^/]+)/faults");

  /**
   * The state a mutation of {@code path} changes, for its audit record: what an extension names (an invoice, a
   * webhook endpoint, budget alerts), else a model, the sandboxes of a model version, the price lists, a tenant's
   * summary or a token's record; null where the mutation makes something new.
   */
  private CompletionStage<Object> before(String path) {
    if (extensions.before() != null) {
      CompletionStage<Object> own = extensions.before().apply(path);
      if (own != null) {
        return own;
      }
    }
    java.util.regex.Matcher model = MODEL_PATH.matcher(path);
    if (model.matches()) {
      return models.get(model.group(1)).thenApply(m -> (Object) m);
    }
    java.util.regex.Matcher sandbox = SANDBOX_PATH.matcher(path);
    if (sandbox.matches()) {
      return sandboxes.statuses().thenApply(all -> (Object) all.stream()
          .filter(s -> s.model().equals(sandbox.group(1)) && s.version().equals(sandbox.group(2))).toList());
    }
    if (path.equals("/admin/prices")) {
      return prices.list().thenApply(p -> (Object) p);
    }
    java.util.regex.Matcher tenant = TENANT_PATH.matcher(path);
    if (tenant.matches() && aimos.tenant.ApiKeys.isValidTenantId(tenant.group(1))) {
      return tenants.get(tenant.group(1)).thenApply(s -> (Object) tenantJson(s));
    }
    java.util.regex.Matcher token = TOKEN_PATH.matcher(path);
    if (token.matches()) {
      return tokens.list().thenApply(all -> all.stream().filter(t -> token.group(1).equals(t.get("id")))
          .findFirst().orElse(null));
    }
    return CompletableFuture.completedFuture(null);
  }

  private Route auditRoutes() {
    return concat(
        pathEnd(() -> get(() -> parameterOptional("from", from -> parameterOptional("limit", limit ->
            respond(StatusCodes.OK, () -> audit.page(from.map(f -> longParam(f, "from")).orElse(1L),
                limit.map(l -> number(l, "limit")).orElse(100))))))),
        path("public-key", () -> get(() -> audit.publicKeyPem()
            .map(pem -> complete(HttpResponse.create().withEntity(HttpEntities.create(
                ContentTypes.TEXT_PLAIN_UTF8, pem))))
            .orElseGet(() -> complete(error(StatusCodes.NOT_FOUND, "audit records are not signed on this cluster: "
                + "set AIMOS_AUDIT_SIGNING_KEY_FILE (aimos.audit.signing-key-file) on every node"))))),
        path("verify", () -> get(() -> respond(StatusCodes.OK, audit::verify))));
  }

  private static long longParam(String value, String name) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a whole number, was '" + value + "'");
    }
  }

  // ---- request parsing: every problem is an IllegalArgumentException with a message that says what to fix ----

  /** Admin documents are small: a larger body is refused with 413 before it is read whole. */
  static final long MAX_BODY_BYTES = 64 * 1024;

  private Route jsonBody(Function<JsonNode, Route> inner) {
    return jsonBody(false, inner);
  }

  /** A JSON object body, or none at all (read as {@code {}}). */
  private Route optionalJsonBody(Function<JsonNode, Route> inner) {
    return jsonBody(true, inner);
  }

  private Route jsonBody(boolean mayBeEmpty, Function<JsonNode, Route> inner) {
    return handleRejections(org.apache.pekko.http.javadsl.server.RejectionHandler.newBuilder()
            .handle(org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection.class, r ->
                complete(error(StatusCodes.BAD_REQUEST, "the body could not be read: " + r.message())))
            .build(),
        () -> BoundedBody.atMost(MAX_BODY_BYTES, () -> error(StatusCodes.PAYLOAD_TOO_LARGE,
            "the body is larger than " + MAX_BODY_BYTES + " bytes"), () -> readJson(mayBeEmpty, inner)));
  }

  private Route readJson(boolean mayBeEmpty, Function<JsonNode, Route> inner) {
    return entity(Unmarshaller.entityToString(), body -> {
      if (mayBeEmpty && body.isBlank()) {
        return inner.apply(JSON.createObjectNode());
      }
      JsonNode node;
      try {
        node = JSON.readTree(body);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        return complete(error(StatusCodes.BAD_REQUEST, "the body is not valid JSON: " + e.getOriginalMessage()));
      }
      if (node == null || !node.isObject()) {
        return complete(error(StatusCodes.BAD_REQUEST, "the body must be a JSON object"));
      }
      return inner.apply(node);
    });
  }

  private static String text(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull() || !v.isTextual() || v.asText().isBlank()) {
      throw new IllegalArgumentException("field '" + field + "' is required and must be a non-empty string");
    }
    return v.asText();
  }

  private static String optionalText(JsonNode body, String field, String fallback) {
    JsonNode v = body.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException("field '" + field + "' must be a string");
    }
    return v.asText();
  }

  private static long longField(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
      throw new IllegalArgumentException("field '" + field + "' is required and must be a whole number");
    }
    return v.asLong();
  }

  private static int intField(JsonNode body, String field) {
    long v = longField(body, field);
    if (v > Integer.MAX_VALUE || v < Integer.MIN_VALUE) {
      throw new IllegalArgumentException("field '" + field + "' is too large");
    }
    return (int) v;
  }

  static Plan plan(JsonNode p) {
    if (p == null || !p.isObject()) {
      throw new IllegalArgumentException("field 'plan' is required: {\"requestsPerMinute\": 600, "
          + "\"tokensPerMinute\": 100000, \"monthlyBudgetUsd\": \"100.00\", \"maxConcurrentRequests\": 8}");
    }
    JsonNode budget = p.get("monthlyBudgetUsd");
    if (budget == null || budget.isNull() || !(budget.isTextual() || budget.isNumber())) {
      throw new IllegalArgumentException("field 'plan.monthlyBudgetUsd' is required, for example \"100.00\"");
    }
    int concurrent = intField(p, "maxConcurrentRequests");
    return new Plan(longField(p, "requestsPerMinute"), longField(p, "tokensPerMinute"),
        Money.parseUsd(budget.asText()), concurrent,
        p.hasNonNull("maxWorkerLeases") ? intField(p, "maxWorkerLeases") : concurrent);
  }

  private static BillingUnit billingUnit(String s) {
    try {
      BillingUnit u = BillingUnit.valueOf(s);
      if (u != BillingUnit.BILLING_UNIT_UNSPECIFIED && u != BillingUnit.UNRECOGNIZED) {
        return u;
      }
    } catch (IllegalArgumentException ignored) {
      // fall through
    }
    throw new IllegalArgumentException("billingUnit must be TOKENS, IMAGES or AUDIO_MINUTES, was '" + s + "'");
  }

  private static int number(String value, String name) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be a whole number, was '" + value + "'");
    }
  }

  private static boolean repair(Optional<String> repair) {
    String v = repair.orElse("true");
    if (!v.equals("true") && !v.equals("false")) {
      throw new IllegalArgumentException("repair must be true or false, was '" + v + "'");
    }
    return Boolean.parseBoolean(v);
  }

  /** A key as the APIs list it; a scope missing from an earlier node's reply is inference. */
  public static Map<String, Object> keyJson(TenantEntity.KeyInfo k) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("keyId", k.keyId());
    m.put("scope", KeyScope.ofLabel(k.scope()).label());
    m.put("issuedAtMillis", k.issuedAtMillis());
    m.put("revoked", k.revoked());
    return m;
  }

  /** A newly issued key, its secret shown once. */
  public static Map<String, Object> issuedKeyJson(String tenantId, TenantEntity.IssuedKey k, KeyScope scope) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tenantId", tenantId);
    m.put("keyId", k.keyId());
    m.put("scope", scope.label());
    m.put("apiKey", k.apiKey());
    m.put("note", "the key is shown once; only a salted hash is stored");
    return m;
  }

  static Map<String, Object> tenantJson(TenantEntity.Summary s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", s.tenantId());
    m.put("name", s.displayName());
    Map<String, Object> plan = new LinkedHashMap<>();
    plan.put("requestsPerMinute", s.plan().requestsPerMinute());
    plan.put("tokensPerMinute", s.plan().tokensPerMinute());
    plan.put("monthlyBudgetUsd", Money.format(s.plan().monthlyBudgetMicros()));
    plan.put("maxConcurrentRequests", s.plan().maxConcurrentRequests());
    plan.put("maxWorkerLeases", s.plan().maxWorkerLeases());
    m.put("plan", plan);
    m.put("status", s.status());
    if (s.suspended()) {
      m.put("suspendReason", s.suspendReason());
      m.put("suspendedAtMillis", s.suspendedAtMillis());
    }
    m.put("keys", s.keys().stream().map(AdminRoutes::keyJson).toList());
    m.put("month", s.month());
    m.put("monthRequests", s.monthRequests());
    m.put("monthTokens", s.monthTokens());
    m.put("monthSpendUsd", Money.format(s.monthSpendMicros()));
    return m;
  }

  /** A page of tenants: id, name, plan and status of each, and the cursor of the next page (null: the last). */
  static Map<String, Object> tenantPageJson(TenantAdmin.TenantPage page) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tenants", page.tenants().stream().map(t -> {
      Map<String, Object> full = tenantJson(t);
      Map<String, Object> row = new LinkedHashMap<>();
      for (String k : java.util.List.of("id", "name", "plan", "status", "suspendReason")) {
        if (full.containsKey(k)) {
          row.put(k, full.get(k));
        }
      }
      return row;
    }).toList());
    m.put("nextCursor", page.nextCursor());
    m.put("total", page.total());
    return m;
  }

  // ---- responses ----

  /** Completes with {@code action}'s value as JSON, or with its failure in the admin API's error format. */
  static <T> Route respond(StatusCode success, Supplier<CompletionStage<T>> action) {
    CompletionStage<T> stage;
    try {
      stage = action.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    CompletionStage<HttpResponse> response = stage.handle((value, err) -> err == null
        ? json(success, value)
        : failure(err));
    return org.apache.pekko.http.javadsl.server.Directives.completeWithFuture(response);
  }

  /** A streamed response, or the error JSON when its parameters or the tenant are refused. */
  private static CompletionStage<HttpResponse> exportResponse(Supplier<CompletionStage<HttpResponse>> action) {
    CompletionStage<HttpResponse> stage;
    try {
      stage = action.get();
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return stage.handle((response, err) -> err == null ? response : failure(err));
  }

  static HttpResponse json(StatusCode status, Object value) {
    try {
      return HttpResponse.create().withStatus(status)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(value)));
    } catch (Exception e) {
      throw new IllegalStateException("cannot write JSON for " + value.getClass(), e);
    }
  }

  static HttpResponse failure(Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof IllegalArgumentException) {
      return error(StatusCodes.BAD_REQUEST, t.getMessage());
    }
    if (t instanceof StatusReply.ErrorMessage) {
      String msg = t.getMessage();
      if (msg.contains("does not exist") || msg.startsWith("tenant") && msg.contains("has no key")) {
        return error(StatusCodes.NOT_FOUND, msg);
      }
      if (msg.contains("already exists")) {
        return error(StatusCodes.CONFLICT, msg);
      }
      return error(StatusCodes.BAD_REQUEST, msg);
    }
    if (t instanceof TimeoutException) {
      return error(StatusCodes.SERVICE_UNAVAILABLE, "the cluster did not answer in time; try again");
    }
    if (t instanceof aimos.access.privacy.TenantDataKeys.TenantErased) {
      return error(StatusCodes.CONFLICT, t.getMessage());
    }
    log.error("Admin request failed", t);
    return error(StatusCodes.INTERNAL_SERVER_ERROR, "internal error: " + t + "; see the node's log");
  }

  static HttpResponse error(StatusCode status, String message) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode e = root.putObject("error");
    e.put("code", status.intValue());
    e.put("message", message);
    return json(status, root);
  }

}
