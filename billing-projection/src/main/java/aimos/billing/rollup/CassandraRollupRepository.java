package aimos.billing.rollup;

import com.datastax.oss.driver.api.core.cql.AsyncResultSet;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The rollup tables {@code usage_daily} and {@code usage_hourly} (DDL in {@code aimos/billing/ledger.cql}). Writes are
 * lightweight transactions on the row's revision ({@code IF NOT EXISTS} / {@code IF revision = ?}); no counters.
 */
public final class CassandraRollupRepository implements RollupRepository {
  private static final Pattern KEYSPACE = Pattern.compile("[a-z][a-z0-9_]{0,47}");
  /** A partition holds at most 31 x models x versions rows; reading more than this is refused, not allocated. */
  public static final int MAX_PARTITION_ROWS = 100_000;
  private static final String VALUES = "requests, prompt_tokens, completion_tokens, images, audio_millis, "
      + "charge_micros, requests_over_100ms, first_sequence_nr, last_sequence_nr, revision";

  /** Column names of one grain's table: its partition column (besides tenant_id) and its slot column. */
  private record Table(String name, String partition, String slot) {}

  private static final Map<Grain, Table> TABLES = new EnumMap<>(Map.of(
      Grain.DAY, new Table("usage_daily", "month", "day"),
      Grain.HOUR, new Table("usage_hourly", "day", "hour")));

  private final CassandraSession session;
  private final String tenantMonths;
  private final Map<Grain, Statements> statements = new EnumMap<>(Grain.class);

  private record Statements(CompletionStage<PreparedStatement> insert, CompletionStage<PreparedStatement> update,
                            CompletionStage<PreparedStatement> delete, CompletionStage<PreparedStatement> selectOne,
                            CompletionStage<PreparedStatement> selectPartition) {}

  public CassandraRollupRepository(CassandraSession session, String keyspace) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    this.session = session;
    this.tenantMonths = "SELECT DISTINCT tenant_id, month FROM " + keyspace + ".usage_daily";
    TABLES.forEach((grain, t) -> {
      String table = keyspace + "." + t.name();
      String key = "tenant_id = ? AND " + t.partition() + " = ? AND " + t.slot() + " = ? AND model = ? AND version = ?";
      statements.put(grain, new Statements(
          session.prepare("INSERT INTO " + table + " (tenant_id, " + t.partition() + ", " + t.slot()
              + ", model, version, " + VALUES + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"),
          session.prepare("UPDATE " + table + " SET requests = ?, prompt_tokens = ?, completion_tokens = ?, "
              + "images = ?, audio_millis = ?, charge_micros = ?, requests_over_100ms = ?, first_sequence_nr = ?, "
              + "last_sequence_nr = ?, revision = ? WHERE " + key + " IF revision = ?"),
          session.prepare("DELETE FROM " + table + " WHERE " + key + " IF revision = ?"),
          session.prepare("SELECT * FROM " + table + " WHERE " + key),
          session.prepare("SELECT * FROM " + table + " WHERE tenant_id = ? AND " + t.partition() + " = ? LIMIT "
              + (MAX_PARTITION_ROWS + 1))));
    });
  }

  private static Object slot(RollupKey k) {
    return k.grain() == Grain.HOUR ? (Object) k.hour() : k.slot();
  }

  @Override
  public CompletionStage<Optional<RollupRow>> read(RollupKey k) {
    return statements.get(k.grain()).selectOne()
        .thenCompose(ps -> session.selectOne(ps.bind(k.tenantId(), k.partition(), slot(k), k.model(), k.version())))
        .thenApply(row -> row.map(r -> toRow(k.grain(), r)));
  }

  @Override
  public CompletionStage<Boolean> write(RollupRow row, long expectedRevision) {
    RollupKey k = row.key();
    UsageTotals t = row.totals();
    Statements s = statements.get(k.grain());
    long next = expectedRevision + 1;
    CompletionStage<BoundStatement> bound = expectedRevision == 0
        ? s.insert().thenApply(ps -> ps.bind(k.tenantId(), k.partition(), slot(k), k.model(), k.version(),
            t.requests(), t.promptTokens(), t.completionTokens(), t.images(), t.audioMillis(), t.chargeMicros(),
            t.requestsOver100ms(), row.firstSequenceNr(), row.lastSequenceNr(), next))
        : s.update().thenApply(ps -> ps.bind(t.requests(), t.promptTokens(), t.completionTokens(), t.images(),
            t.audioMillis(), t.chargeMicros(), t.requestsOver100ms(), row.firstSequenceNr(), row.lastSequenceNr(),
            next, k.tenantId(), k.partition(), slot(k), k.model(), k.version(), expectedRevision));
    return bound.thenCompose(this::applied);
  }

  @Override
  public CompletionStage<Boolean> delete(RollupKey k, long expectedRevision) {
    return statements.get(k.grain()).delete()
        .thenApply(ps -> ps.bind(k.tenantId(), k.partition(), slot(k), k.model(), k.version(), expectedRevision))
        .thenCompose(this::applied);
  }

  private CompletionStage<Boolean> applied(BoundStatement statement) {
    return session.underlying().thenCompose(cql -> cql.executeAsync(statement)).thenApply(AsyncResultSet::wasApplied);
  }

  @Override
  public CompletionStage<List<RollupRow>> days(String tenantId, String month) {
    return partition(Grain.DAY, tenantId, month);
  }

  @Override
  public CompletionStage<List<RollupRow>> hours(String tenantId, String day) {
    return partition(Grain.HOUR, tenantId, day);
  }

  private CompletionStage<List<RollupRow>> partition(Grain grain, String tenantId, String partition) {
    return statements.get(grain).selectPartition()
        .thenCompose(ps -> session.selectAll(ps.bind(tenantId, partition)))
        .thenApply(rows -> {
          if (rows.size() > MAX_PARTITION_ROWS) {
            throw new IllegalStateException("rollup partition " + tenantId + "/" + partition + " holds more than "
                + MAX_PARTITION_ROWS + " rows");
          }
          return rows.stream().map(r -> toRow(grain, r)).toList();
        });
  }

  /**
   * Every tenant-month with usage: the partition keys of {@code usage_daily}, one per tenant and month, read by a scan
   * of the table's partition keys only (paged by the driver). Its cost grows with tenants x months, not with requests.
   */
  public Source<TenantMonth, NotUsed> tenantMonths() {
    return session.select(SimpleStatement.newInstance(tenantMonths).setTimeout(Duration.ofSeconds(10))).map(r -> new TenantMonth(r.getString("tenant_id"), r.getString("month")));
  }

  private static RollupRow toRow(Grain grain, Row r) {
    Table t = TABLES.get(grain);
    String slot = grain == Grain.HOUR ? Integer.toString(r.getInt("hour")) : r.getString("day");
    RollupKey key = new RollupKey(grain, r.getString("tenant_id"), r.getString(t.partition()), slot,
        r.getString("model"), r.getString("version"));
    return new RollupRow(key, new UsageTotals(r.getLong("requests"), r.getLong("prompt_tokens"),
        r.getLong("completion_tokens"), r.getLong("images"), r.getLong("audio_millis"), r.getLong("charge_micros"),
        r.getLong("requests_over_100ms")), r.getLong("first_sequence_nr"), r.getLong("last_sequence_nr"),
        r.getLong("revision"));
  }
}
