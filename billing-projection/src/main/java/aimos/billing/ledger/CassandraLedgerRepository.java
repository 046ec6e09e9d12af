package aimos.billing.ledger;

import aimos.api.v1.BillingUnit;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.BatchStatementBuilder;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.DefaultBatchType;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * The ledger table {@code ledger_rows} in Cassandra: one row per usage event, in partitions of (tenant, month,
 * bucket) with bucket = sequence_nr / bucketSize, so no partition grows past bucketSize rows (100,000 rows of about
 * 250 bytes: some 25 MB), and clustered by (persistence_id, sequence_nr) so a partition reads in sequence order.
 * The DDL is in {@code aimos/billing/ledger.cql}.
 */
public final class CassandraLedgerRepository implements LedgerRepository {
  private static final Pattern KEYSPACE = Pattern.compile("[a-z][a-z0-9_]{0,47}");
  public static final long DEFAULT_BUCKET_SIZE = 100_000;
  private static final int BATCH = 50;

  private final CassandraSession session;
  private final String keyspace;
  private final long bucketSize;
  private final CompletionStage<PreparedStatement> insert;
  private final CompletionStage<PreparedStatement> selectPage;

  public CassandraLedgerRepository(CassandraSession session, String keyspace) {
    this(session, keyspace, DEFAULT_BUCKET_SIZE);
  }

  /** {@code bucketSize} cannot change once rows are written: rows would be looked for in other partitions. */
  public CassandraLedgerRepository(CassandraSession session, String keyspace, long bucketSize) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    if (bucketSize < 1 || bucketSize > DEFAULT_BUCKET_SIZE) {
      throw new IllegalArgumentException("ledger bucket size must be 1-" + DEFAULT_BUCKET_SIZE + ", was " + bucketSize);
    }
    this.session = session;
    this.keyspace = keyspace;
    this.bucketSize = bucketSize;
    this.insert = session.prepare("INSERT INTO " + keyspace + ".ledger_rows (tenant_id, month, bucket, "
        + "persistence_id, sequence_nr, request_id, model, version, billing_unit, unit_price_micros, prompt_tokens, "
        + "completion_tokens, images, audio_millis, month_tokens_before, charge_micros, recorded_at) "
        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    this.selectPage = session.prepare("SELECT * FROM " + keyspace + ".ledger_rows WHERE tenant_id = ? AND month = ? "
        + "AND bucket = ? AND persistence_id = ? AND sequence_nr >= ? AND sequence_nr <= ? LIMIT ?");
  }

  /** Creates the keyspace (replication factor 1) and the tables: for development and tests only. */
  public static CompletionStage<Done> createTables(CassandraSession session, String keyspace) {
    return aimos.billing.CqlScript.apply(session, "/aimos/billing/ledger.cql", keyspace);
  }

  public long bucketOf(long sequenceNr) {
    return sequenceNr / bucketSize;
  }

  @Override
  public SequenceRange wholePartitions(SequenceRange range) {
    long last = bucketOf(range.last()) >= Long.MAX_VALUE / bucketSize - 1
        ? Long.MAX_VALUE : (bucketOf(range.last()) + 1) * bucketSize - 1;
    return new SequenceRange(Math.max(1, bucketOf(range.first()) * bucketSize), last);
  }

  @Override
  public CompletionStage<Done> upsert(LedgerRow r) {
    return insert.thenCompose(ps -> session.executeWrite(bind(ps, r)));
  }

  /**
   * Rows of one partition go in unlogged batches of up to {@value #BATCH} (one partition, so the batch is a single
   * mutation); batches of different partitions are written concurrently.
   */
  @Override
  public CompletionStage<Done> upsertAll(List<LedgerRow> rows) {
    return insert.thenCompose(ps -> {
      Map<String, List<LedgerRow>> byPartition = new LinkedHashMap<>();
      rows.forEach(r -> byPartition.computeIfAbsent(r.tenantId() + "\u0000" + r.month() + "\u0000"
          + bucketOf(r.sequenceNr()), k -> new ArrayList<>()).add(r));
      List<CompletableFuture<Done>> writes = new ArrayList<>();
      for (List<LedgerRow> partition : byPartition.values()) {
        for (int i = 0; i < partition.size(); i += BATCH) {
          BatchStatementBuilder batch = BatchStatement.builder(DefaultBatchType.UNLOGGED);
          partition.subList(i, Math.min(partition.size(), i + BATCH)).forEach(r -> batch.addStatement(bind(ps, r)));
          writes.add(session.executeWriteBatch(batch.build()).toCompletableFuture());
        }
      }
      return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
    });
  }

  private BoundStatement bind(PreparedStatement ps, LedgerRow r) {
    return ps.bind(r.tenantId(), r.month(), bucketOf(r.sequenceNr()), r.persistenceId(), r.sequenceNr(),
        r.requestId(), r.model(), r.version(), r.unit().name(), r.unitPriceMicros(), r.units().promptTokens(),
        r.units().completionTokens(), r.units().images(), r.units().audioMillis(), r.monthTokensBefore(),
        r.chargeMicros(), Instant.ofEpochMilli(r.recordedAtMillis()));
  }

  /** Reads bucket after bucket from the page's start until it has one row more than the page (or the range ends). */
  @Override
  public CompletionStage<LedgerPage> page(String tenantId, String month, SequenceRange range, long fromSequenceNr,
                                          int limit) {
    if (limit < 1 || limit > MAX_PAGE) {
      throw new IllegalArgumentException("a ledger page holds 1-" + MAX_PAGE + " rows, asked for " + limit);
    }
    long start = Math.max(fromSequenceNr, range.first());
    List<LedgerRow> rows = new ArrayList<>(limit + 1);
    if (start > range.last()) {
      return CompletableFuture.completedFuture(new LedgerPage(rows, OptionalLong.empty()));
    }
    String pid = TenantEntity.persistenceIdOf(tenantId);
    return collect(tenantId, month, pid, start, range.last(), limit + 1, rows).thenApply(all -> all.size() > limit
        ? new LedgerPage(List.copyOf(all.subList(0, limit)), OptionalLong.of(all.get(limit).sequenceNr()))
        : new LedgerPage(List.copyOf(all), OptionalLong.empty()));
  }

  private CompletionStage<List<LedgerRow>> collect(String tenantId, String month, String pid, long from, long last,
                                                   int want, List<LedgerRow> into) {
    long bucket = bucketOf(from);
    long bucketLast = Math.min(last, (bucket + 1) * bucketSize - 1);
    return selectPage
        .thenCompose(ps -> session.selectAll(ps.bind(tenantId, month, bucket, pid, from, bucketLast,
            want - into.size())))
        .thenCompose(found -> {
          found.forEach(r -> into.add(toRow(r)));
          if (into.size() >= want || bucketLast >= last) {
            return CompletableFuture.completedFuture(into);
          }
          return collect(tenantId, month, pid, bucketLast + 1, last, want, into);
        });
  }

  private static LedgerRow toRow(Row row) {
    return new LedgerRow(row.getString("tenant_id"), row.getString("month"), row.getString("persistence_id"),
        row.getLong("sequence_nr"), row.getString("request_id"), row.getString("model"), row.getString("version"),
        BillingUnit.valueOf(row.getString("billing_unit")), row.getLong("unit_price_micros"),
        new Units(row.getLong("prompt_tokens"), row.getLong("completion_tokens"), row.getLong("images"),
            row.getLong("audio_millis")),
        row.getLong("month_tokens_before"), row.getLong("charge_micros"), row.getInstant("recorded_at").toEpochMilli());
  }

  public String keyspace() {
    return keyspace;
  }
}
