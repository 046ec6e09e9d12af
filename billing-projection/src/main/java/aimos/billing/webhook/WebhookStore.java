package aimos.billing.webhook;

import aimos.access.privacy.TenantDataKeys;
import com.datastax.oss.driver.api.core.cql.Row;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** The webhook tables (DDL: {@code aimos/billing/webhooks.cql}) in the billing keyspace. */
public final class WebhookStore {
  private static final Pattern KEYSPACE = Pattern.compile("[a-z][a-z0-9_]{0,47}");
  /** The sealed fields' names (associated data of their ciphertext). */
  private static final String URL = "webhook_url";
  private static final String DESCRIPTION = "webhook_description";

  /** A tenant's endpoint. {@code secret} and {@code previousSecret} never leave the node except when created. */
  public record Endpoint(String tenantId, String endpointId, String url, String description, Set<String> eventTypes,
                         String secret, String previousSecret, Instant previousSecretUntil, boolean enabled,
                         String disabledReason, Instant createdAt) {
    /** The secrets to sign with at {@code now}: the current one, and the previous one during its overlap. */
    public List<String> signingSecrets(Instant now) {
      return previousSecret != null && previousSecretUntil != null && now.isBefore(previousSecretUntil)
          ? List.of(secret, previousSecret) : List.of(secret);
    }

    @Override
    public String toString() {
      return "Endpoint[" + tenantId + "/" + endpointId + ", url=" + url + ", enabled=" + enabled + ", secret=***]";
    }
  }

  public record StoredEvent(String eventId, String tenantId, String type, Instant occurredAt, String body) {}

  public enum Status { PENDING, DELIVERED, FAILED, CANCELLED }

  public record Delivery(String tenantId, String endpointId, String eventId, String webhookId, String type,
                         Status status, int attempts, Instant nextAttemptAt, int lastStatus, String lastError,
                         Instant createdAt, Instant finishedAt) {}

  public record Attempt(String tenantId, String endpointId, String eventId, int attempt, String webhookId,
                        Instant attemptedAt, int status, long durationMillis, String error, String node) {}

  public record Pending(int bucket, String tenantId, String endpointId, String eventId, Instant dueAt) {}

  private final CassandraSession session;
  private final String ks;
  private final TenantDataKeys dataKeys;

  /** {@code dataKeys} seal each endpoint's URL and description (the tenant's personal data) in its row. */
  public WebhookStore(CassandraSession session, String keyspace, TenantDataKeys dataKeys) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    this.session = session;
    this.ks = keyspace;
    this.dataKeys = dataKeys;
  }

  /** Creates the webhook tables (the keyspace exists: the ledger's DDL creates it). Development and tests. */
  public static CompletionStage<Done> createTables(CassandraSession session, String keyspace) {
    return aimos.billing.CqlScript.apply(session, "/aimos/billing/webhooks.cql", keyspace);
  }

  // ---- endpoints ----

  public CompletionStage<List<Endpoint>> endpoints(String tenantId) {
    return session.selectAll("SELECT * FROM " + ks + ".webhook_endpoints WHERE tenant_id = ?", tenantId)
        .thenCompose(rows -> rows.isEmpty() ? CompletableFuture.completedFuture(List.<Endpoint>of())
            : dataKeys.state(tenantId).thenApply(key -> rows.stream().map(r -> endpoint(r, key)).toList()));
  }

  public CompletionStage<Optional<Endpoint>> endpoint(String tenantId, String endpointId) {
    return session.selectOne("SELECT * FROM " + ks + ".webhook_endpoints WHERE tenant_id = ? AND endpoint_id = ?",
        tenantId, endpointId).thenCompose(row -> row.isEmpty()
            ? CompletableFuture.completedFuture(Optional.<Endpoint>empty())
            : dataKeys.state(tenantId).thenApply(key -> Optional.of(endpoint(row.get(), key))));
  }

  /** Writes the endpoint with its URL and description sealed with the tenant's data key. */
  public CompletionStage<Done> save(Endpoint e) {
    return dataKeys.seal(e.tenantId(), URL, e.url()).thenCompose(url -> dataKeys.seal(e.tenantId(), DESCRIPTION,
        e.description()).thenCompose(description -> session.executeWrite("INSERT INTO " + ks + ".webhook_endpoints "
            + "(tenant_id, endpoint_id, url, description, event_types, secret, previous_secret, "
            + "previous_secret_until, enabled, disabled_reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        e.tenantId(), e.endpointId(), url, description, e.eventTypes(), e.secret(), e.previousSecret(),
        e.previousSecretUntil(), e.enabled(), e.disabledReason(), e.createdAt())));
  }

  /**
   * Removes everything kept about the tenant's webhooks: endpoints, their deliveries and attempts (errors may name
   * the receiver). Deliveries still pending are cancelled by their dispatcher when their turn comes. Returns how many
   * endpoints there were.
   */
  public CompletionStage<Integer> eraseTenant(String tenantId) {
    return session.selectAll("SELECT endpoint_id FROM " + ks + ".webhook_endpoints WHERE tenant_id = ?", tenantId)
        .thenCompose(rows -> {
          CompletionStage<Done> chain = CompletableFuture.completedFuture(Done.getInstance());
          for (Row r : rows) {
            String endpointId = r.getString("endpoint_id");
            chain = chain.thenCompose(d -> session.selectAll("SELECT event_id FROM " + ks + ".webhook_deliveries "
                    + "WHERE tenant_id = ? AND endpoint_id = ?", tenantId, endpointId))
                .thenCompose(events -> {
                  CompletionStage<Done> inner = CompletableFuture.completedFuture(Done.getInstance());
                  for (Row ev : events) {
                    inner = inner.thenCompose(d -> session.executeWrite("DELETE FROM " + ks + ".webhook_attempts "
                        + "WHERE tenant_id = ? AND endpoint_id = ? AND event_id = ?", tenantId, endpointId,
                        ev.getString("event_id")));
                  }
                  return inner;
                })
                .thenCompose(d -> session.executeWrite("DELETE FROM " + ks + ".webhook_deliveries WHERE tenant_id = ?"
                    + " AND endpoint_id = ?", tenantId, endpointId))
                .thenCompose(d -> delete(tenantId, endpointId));
          }
          return chain.thenApply(d -> rows.size());
        });
  }

  public CompletionStage<Done> setEnabled(String tenantId, String endpointId, boolean enabled, String reason) {
    return session.executeWrite("UPDATE " + ks + ".webhook_endpoints SET enabled = ?, disabled_reason = ? "
        + "WHERE tenant_id = ? AND endpoint_id = ?", enabled, reason, tenantId, endpointId);
  }

  public CompletionStage<Done> delete(String tenantId, String endpointId) {
    return session.executeWrite("DELETE FROM " + ks + ".webhook_endpoints WHERE tenant_id = ? AND endpoint_id = ?",
        tenantId, endpointId);
  }

  private static Endpoint endpoint(Row r, TenantDataKeys.KeyState key) {
    String tenantId = r.getString("tenant_id");
    String description = r.getString("description") == null ? "" : r.getString("description");
    return new Endpoint(tenantId, r.getString("endpoint_id"), key.open(tenantId, URL, r.getString("url")),
        key.open(tenantId, DESCRIPTION, description),
        Set.copyOf(r.getSet("event_types", String.class)), r.getString("secret"), r.getString("previous_secret"),
        r.getInstant("previous_secret_until"), r.getBoolean("enabled"), r.getString("disabled_reason"),
        r.getInstant("created_at"));
  }

  // ---- events ----

  /** Writes the event unless its id was written before; true when this call wrote it. */
  public CompletionStage<Boolean> insertEvent(StoredEvent e, Instant publishedAt) {
    return session.selectOne("INSERT INTO " + ks + ".webhook_events (event_id, tenant_id, type, occurred_at, body, "
            + "published_at) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS", e.eventId(), e.tenantId(), e.type(),
        e.occurredAt(), e.body(), publishedAt).thenApply(row -> row.map(r -> r.getBoolean("[applied]")).orElse(false));
  }

  public CompletionStage<Optional<StoredEvent>> event(String eventId) {
    return session.selectOne("SELECT * FROM " + ks + ".webhook_events WHERE event_id = ?", eventId)
        .thenApply(row -> row.map(r -> new StoredEvent(r.getString("event_id"), r.getString("tenant_id"),
            r.getString("type"), r.getInstant("occurred_at"), r.getString("body"))));
  }

  // ---- deliveries ----

  /** Writes the delivery unless one exists for its event and endpoint; returns the one that exists then. */
  public CompletionStage<Optional<Delivery>> insertIfAbsent(Delivery d) {
    return session.selectOne("INSERT INTO " + ks + ".webhook_deliveries (tenant_id, endpoint_id, event_id, "
            + "webhook_id, type, status, attempts, next_attempt_at, last_status, last_error, created_at, finished_at) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS", d.tenantId(), d.endpointId(), d.eventId(),
        d.webhookId(), d.type(), d.status().name(), d.attempts(), d.nextAttemptAt(), d.lastStatus(), d.lastError(),
        d.createdAt(), d.finishedAt()).thenApply(row -> row.filter(r -> !r.getBoolean("[applied]"))
        .map(WebhookStore::delivery));
  }

  public CompletionStage<Done> update(Delivery d) {
    return session.executeWrite("UPDATE " + ks + ".webhook_deliveries SET status = ?, attempts = ?, "
            + "next_attempt_at = ?, last_status = ?, last_error = ?, finished_at = ? WHERE tenant_id = ? AND "
            + "endpoint_id = ? AND event_id = ?", d.status().name(), d.attempts(), d.nextAttemptAt(), d.lastStatus(),
        d.lastError(), d.finishedAt(), d.tenantId(), d.endpointId(), d.eventId());
  }

  public CompletionStage<Optional<Delivery>> delivery(String tenantId, String endpointId, String eventId) {
    return session.selectOne("SELECT * FROM " + ks + ".webhook_deliveries WHERE tenant_id = ? AND endpoint_id = ? "
        + "AND event_id = ?", tenantId, endpointId, eventId).thenApply(row -> row.map(WebhookStore::delivery));
  }

  /** The endpoint's deliveries, newest first, at most {@code limit}. */
  public CompletionStage<List<Delivery>> deliveries(String tenantId, String endpointId, int limit) {
    return session.selectAll("SELECT * FROM " + ks + ".webhook_deliveries WHERE tenant_id = ? AND endpoint_id = ?",
        tenantId, endpointId).thenApply(rows -> rows.stream().map(WebhookStore::delivery)
        .sorted(Comparator.comparing(Delivery::createdAt).reversed()).limit(limit).toList());
  }

  private static Delivery delivery(Row r) {
    return new Delivery(r.getString("tenant_id"), r.getString("endpoint_id"), r.getString("event_id"),
        r.getString("webhook_id"), r.getString("type"), Status.valueOf(r.getString("status")), r.getInt("attempts"),
        r.getInstant("next_attempt_at"), r.getInt("last_status"), r.getString("last_error"),
        r.getInstant("created_at"), r.getInstant("finished_at"));
  }

  // ---- attempts ----

  public CompletionStage<Done> log(Attempt a) {
    return session.executeWrite("INSERT INTO " + ks + ".webhook_attempts (tenant_id, endpoint_id, event_id, attempt, "
            + "webhook_id, attempted_at, status, duration_millis, error, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        a.tenantId(), a.endpointId(), a.eventId(), a.attempt(), a.webhookId(), a.attemptedAt(), a.status(),
        a.durationMillis(), a.error(), a.node());
  }

  public CompletionStage<List<Attempt>> attempts(String tenantId, String endpointId, String eventId) {
    return session.selectAll("SELECT * FROM " + ks + ".webhook_attempts WHERE tenant_id = ? AND endpoint_id = ? AND "
        + "event_id = ?", tenantId, endpointId, eventId).thenApply(rows -> rows.stream().map(r -> new Attempt(
            r.getString("tenant_id"), r.getString("endpoint_id"), r.getString("event_id"), r.getInt("attempt"),
            r.getString("webhook_id"), r.getInstant("attempted_at"), r.getInt("status"),
            r.getLong("duration_millis"), r.getString("error"), r.getString("node"))).toList());
  }

  // ---- the pending queue ----

  public CompletionStage<Done> schedule(Pending p) {
    return session.executeWrite("INSERT INTO " + ks + ".webhook_pending (bucket, tenant_id, endpoint_id, event_id, "
        + "due_at) VALUES (?, ?, ?, ?, ?)", p.bucket(), p.tenantId(), p.endpointId(), p.eventId(), p.dueAt());
  }

  public CompletionStage<Done> unschedule(int bucket, String tenantId, String endpointId, String eventId) {
    return session.executeWrite("DELETE FROM " + ks + ".webhook_pending WHERE bucket = ? AND tenant_id = ? AND "
        + "endpoint_id = ? AND event_id = ?", bucket, tenantId, endpointId, eventId);
  }

  /** What the bucket's dispatcher has to do, at most {@code limit} rows from the start of the bucket. */
  public CompletionStage<List<Pending>> pending(int bucket, int limit) {
    return session.selectAll("SELECT * FROM " + ks + ".webhook_pending WHERE bucket = ? LIMIT ?", bucket, limit)
        .thenApply(WebhookStore::pendingRows);
  }

  /** The next at most {@code limit} rows of the bucket after {@code after} (in key order). */
  public CompletionStage<List<Pending>> pendingAfter(Pending after, int limit) {
    return session.selectAll("SELECT * FROM " + ks + ".webhook_pending WHERE bucket = ? AND "
            + "(tenant_id, endpoint_id, event_id) > (?, ?, ?) LIMIT ?", after.bucket(), after.tenantId(),
        after.endpointId(), after.eventId(), limit).thenApply(WebhookStore::pendingRows);
  }

  private static List<Pending> pendingRows(List<Row> rows) {
    return rows.stream().map(r -> new Pending(r.getInt("bucket"), r.getString("tenant_id"),
        r.getString("endpoint_id"), r.getString("event_id"), r.getInstant("due_at"))).toList();
  }
}
