package aimos.node.admin;

import aimos.access.privacy.SealedText;
import aimos.access.privacy.TenantDataKeys;
import aimos.billing.ledger.LedgerReader;
import aimos.billing.ledger.UsageReport;
import aimos.billing.rollup.UsagePoint;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import aimos.tenant.ApiKeys;
import aimos.tenant.Plan;
import aimos.tenant.TenantEntity;
import aimos.tenant.directory.TenantDirectory;
import org.apache.pekko.Done;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** Tenant administration: create, change plan, issue and revoke keys, read usage (rollups) and the ledger (pages). */
public final class TenantAdmin {
  /** The display name's field name for sealing (associated data of its ciphertext). */
  static final String DISPLAY_NAME = "display_name";
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final TenantUsage usage;

  private final CassandraSession session;
  private final String journalKeyspace;
  private final TenantDataKeys dataKeys;

  /** {@code dataKeys} seal the tenant's display name before it enters a command or event, and open it for reading. */
  public TenantAdmin(ActorSystem<?> system, Duration timeout, TenantUsage usage, CassandraSession session,
                     TenantDataKeys dataKeys) {
    this.system = system;
    this.timeout = timeout;
    this.usage = usage;
    this.session = session;
    this.dataKeys = dataKeys;
    this.journalKeyspace = system.settings().config().getString("pekko.persistence.cassandra.journal.keyspace");
  }

  private EntityRef<TenantEntity.Command> tenant(String id) {
    return ClusterSharding.get(system).entityRefFor(TenantEntity.ENTITY_KEY, validTenantId(id));
  }

  static String validTenantId(String id) {
    if (!ApiKeys.isValidTenantId(id)) {
      throw new IllegalArgumentException("tenant id must be " + ApiKeys.tenantIdRule() + ", was '" + id + "'");
    }
    return id;
  }

  /**
   * Lists the tenant in the directory, then creates it: gateways refuse keys of tenants that are not listed, so a
   * tenant is listed before it can have a key. (A listing whose creation then fails names no entity with keys.)
   */
  public CompletionStage<TenantEntity.Summary> create(String id, String displayName, Plan plan) {
    EntityRef<TenantEntity.Command> tenant = tenant(id);
    String name = displayName == null ? "" : displayName.strip();
    if (name.isEmpty() || name.length() > 200) {
      throw new IllegalArgumentException("name must be 1-200 characters");
    }
    return dataKeys.seal(id, DISPLAY_NAME, name)
        .thenCompose(sealed -> TenantDirectory.ref(system).<Done>ask(rt -> new TenantDirectory.Add(id, rt), timeout)
            .thenCompose(listed -> tenant.<TenantEntity.Summary>askWithStatus(
                rt -> new TenantEntity.Create(sealed, plan, rt), timeout)))
        .thenCompose(this::opened);
  }

  public CompletionStage<TenantEntity.Summary> get(String id) {
    return tenant(id).<TenantEntity.Summary>askWithStatus(TenantEntity.GetSummary::new, timeout)
        .thenCompose(this::opened);
  }

  public CompletionStage<TenantEntity.Summary> changePlan(String id, Plan plan) {
    return tenant(id).<TenantEntity.Summary>askWithStatus(rt -> new TenantEntity.ChangePlan(plan, rt),
            timeout)
        .thenCompose(this::opened);
  }

  /** Suspends the tenant (its requests are refused at admission until it is resumed); again: no change. */
  public CompletionStage<TenantEntity.Summary> suspend(String id, String reason) {
    String r = reason == null ? "" : reason.strip();
    if (r.length() > TenantEntity.MAX_SUSPEND_REASON) {
      throw new IllegalArgumentException("reason must be at most " + TenantEntity.MAX_SUSPEND_REASON
          + " characters, was " + r.length());
    }
    return tenant(id).<TenantEntity.Summary>askWithStatus(rt -> new TenantEntity.Suspend(r, rt), timeout)
        .thenCompose(this::opened);
  }

  /** Resumes a suspended tenant; an active one: no change. */
  public CompletionStage<TenantEntity.Summary> resume(String id) {
    return tenant(id).<TenantEntity.Summary>askWithStatus(TenantEntity.Resume::new, timeout)
        .thenCompose(this::opened);
  }

  /** The most tenants one page of {@link #list} holds, and how many it holds when not told. */
  public static final int MAX_PAGE = 100;
  public static final int DEFAULT_PAGE = 50;

  /** One page of tenants: those at directory positions [cursor, next) that exist, and the next page's cursor. */
  public record TenantPage(List<TenantEntity.Summary> tenants, String nextCursor, int total) {}

  /**
   * A page of tenants in the order they were listed in the tenant directory: the page's ids from the directory, then
   * each tenant's own summary (exact: plan and status as its entity has them), asked concurrently. The cursor is the
   * position in the directory where the page starts; ids that were listed but whose creation failed are left out.
   */
  public CompletionStage<TenantPage> list(Optional<String> cursor, Optional<String> limit) {
    int from = cursor.map(c -> {
      try {
        int v = Integer.parseInt(c);
        if (v >= 0) {
          return v;
        }
      } catch (NumberFormatException ignored) {
        // below
      }
      throw new IllegalArgumentException("cursor must be a nextCursor of an earlier page, was '" + c + "'");
    }).orElse(0);
    int size = limit.map(l -> {
      try {
        int v = Integer.parseInt(l);
        if (v >= 1 && v <= MAX_PAGE) {
          return v;
        }
      } catch (NumberFormatException ignored) {
        // below
      }
      throw new IllegalArgumentException("limit must be a whole number from 1 to " + MAX_PAGE + ", was '" + l + "'");
    }).orElse(DEFAULT_PAGE);
    return TenantDirectory.ref(system).<TenantDirectory.Listing>ask(rt -> new TenantDirectory.Since(from, rt), timeout)
        .thenCompose(listing -> {
          List<String> ids = listing.ids().subList(0, Math.min(size, listing.ids().size()));
          List<java.util.concurrent.CompletableFuture<Optional<TenantEntity.Summary>>> asks = new ArrayList<>();
          for (String id : ids) {
            asks.add(tenant(id).<TenantEntity.Summary>askWithStatus(TenantEntity.GetSummary::new, timeout)
                .thenCompose(this::opened)
                .thenApply(Optional::of)
                .exceptionally(e -> {
                  Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                      ? e.getCause() : e;
                  if (t instanceof org.apache.pekko.pattern.StatusReply.ErrorMessage
                      && t.getMessage().contains("does not exist")) {
                    return Optional.empty();
                  }
                  throw new java.util.concurrent.CompletionException(t);
                })
                .toCompletableFuture());
          }
          int next = from + ids.size();
          return java.util.concurrent.CompletableFuture.allOf(asks.toArray(java.util.concurrent.CompletableFuture[]::new))
              .thenApply(done -> new TenantPage(asks.stream().map(java.util.concurrent.CompletableFuture::join)
                  .flatMap(Optional::stream).toList(), next < listing.total() ? Integer.toString(next) : null,
                  listing.total()));
        });
  }

  /** A new key; an erased tenant gets none (409), so nothing can run or be billed under it again. */
  public CompletionStage<TenantEntity.IssuedKey> issueKey(String id, aimos.tenant.KeyScope scope) {
    EntityRef<TenantEntity.Command> tenant = tenant(id);
    return dataKeys.state(id).thenCompose(key -> key.erasedAt().isPresent()
        ? java.util.concurrent.CompletableFuture.failedFuture(new TenantDataKeys.TenantErased(id,
            key.erasedAt().get()))
        : tenant.askWithStatus(rt -> new TenantEntity.IssueKey(scope.label(), rt), timeout));
  }

  public CompletionStage<TenantEntity.Summary> revokeKey(String id, String keyId) {
    return tenant(id).<TenantEntity.Summary>askWithStatus(rt -> new TenantEntity.RevokeKey(keyId, rt),
            timeout)
        .thenCompose(this::opened);
  }

  /** The summary with its display name opened ({@value SealedText#ERASED} once the tenant is erased). */
  private CompletionStage<TenantEntity.Summary> opened(TenantEntity.Summary s) {
    return dataKeys.open(s.tenantId(), DISPLAY_NAME, s.displayName()).thenApply(s::withDisplayName);
  }

  /** A page of the tenant's ledger rows of a month, one per metered request, in sequence order. */
  public CompletionStage<LedgerReader.Page> ledger(String id, Optional<String> month, Optional<String> cursor,
                                                   Optional<String> limit) {
    TenantUsage.checkPaging(month, cursor, limit);
    return get(id).thenCompose(s -> usage.ledgerPage(id, month, cursor, limit));
  }

  /** The tenant's ledger of a month as a streamed response (NDJSON or CSV); parameters are checked first. */
  public CompletionStage<HttpResponse> ledgerExport(String id, Optional<String> month, Optional<String> format) {
    HttpResponse export = usage.export(validTenantId(id), month, format);
    return get(id).thenApply(s -> export);
  }

  public CompletionStage<UsageReport> usage(String id, Optional<String> month) {
    TenantUsage.month(month);
    return get(id).thenCompose(s -> usage.report(id, month));
  }

  public CompletionStage<List<UsagePoint>> daily(String id, Optional<String> month) {
    TenantUsage.month(month);
    return get(id).thenCompose(s -> usage.daily(id, month));
  }

  public CompletionStage<List<UsagePoint>> hourly(String id, Optional<String> day) {
    TenantUsage.day(day);
    return get(id).thenCompose(s -> usage.hourly(id, day));
  }

  /** Which shard holds the tenant's entity and which node hosts that shard now (null while it is not allocated). */
  public CompletionStage<Map<String, Object>> location(String id) {
    String shard = new org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor<TenantEntity.Command>(
        system.settings().config().getInt("pekko.cluster.sharding.number-of-shards")).shardId(validTenantId(id));
    return AskPattern.<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery, ShardRegion.ClusterShardingStats>ask(
        ClusterSharding.get(system).shardState(),
        replyTo -> new GetClusterShardingStats(TenantEntity.ENTITY_KEY, timeout, replyTo), timeout.plusSeconds(1),
        system.scheduler()).thenApply(stats -> {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("tenant", id);
          m.put("shard", shard);
          m.put("node", stats.getRegions().entrySet().stream()
              .filter(e -> e.getValue().getStats().containsKey(shard)).map(e -> e.getKey().toString()).findFirst()
              .orElse(null));
          return m;
        });
  }

  /**
   * Who wrote the tenant's journal: runs of consecutive events by one writer (one entity incarnation). A single
   * writer at a time shows each writer in one run; a writer that comes back after another took over (two writers at
   * once, as in a split brain) shows as {@code interleaved}.
   */
  public CompletionStage<Map<String, Object>> journalWriters(String id) {
    String pid = TenantEntity.persistenceIdOf(validTenantId(id));
    return session.selectAll("SELECT sequence_nr, writer_uuid FROM " + journalKeyspace
        + ".messages WHERE persistence_id = ? AND partition_nr = 0", pid).thenApply(rows -> {
          List<Map<String, Object>> runs = new ArrayList<>();
          java.util.Set<String> seen = new java.util.HashSet<>();
          boolean interleaved = false;
          long expected = 1;
          long gaps = 0;
          Map<String, Object> run = null;
          for (var row : rows) {
            long seq = row.getLong("sequence_nr");
            String writer = row.getString("writer_uuid");
            gaps += Math.max(0, seq - expected);
            expected = seq + 1;
            if (run == null || !run.get("writer").equals(writer)) {
              interleaved |= !seen.add(writer);
              run = new LinkedHashMap<>();
              run.put("writer", writer);
              run.put("fromSequenceNr", seq);
              runs.add(run);
            }
            run.put("toSequenceNr", seq);
          }
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("persistenceId", pid);
          m.put("events", expected - 1);
          m.put("missingSequenceNrs", gaps);
          m.put("writers", seen.size());
          m.put("interleaved", interleaved);
          m.put("runs", runs);
          return m;
        });
  }
}
