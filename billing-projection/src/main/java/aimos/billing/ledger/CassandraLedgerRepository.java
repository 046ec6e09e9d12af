package aimos.billing.ledger;

import aimos.api.v1.BillingUnit;
import aimos.tenant.Units;
import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.BatchStatementBuilder;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.DefaultBatchType;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Row;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * The ledger table in Cassandra: one partition per (tenant, month), one row per usage event keyed by
 * (persistence_id, sequence_nr). The DDL is in {@code aimos/billing/ledger.cql}.
 */
public final class CassandraLedgerRepository implements LedgerRepository {
  private static final Pattern KEYSPACE = Pattern.compile("[a-z][a-z0-9_]{0,47}");

  private final CassandraSession session;
  private final String keyspace;
  private final CompletionStage<PreparedStatement> insert;
  private final CompletionStage<PreparedStatement> select;

  public CassandraLedgerRepository(CassandraSession session, String keyspace) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    this.session = session;
    this.keyspace = keyspace;
    this.insert = session.prepare("INSERT INTO " + keyspace + ".ledger (tenant_id, month, persistence_id, "
        + "sequence_nr, request_id, model, version, billing_unit, unit_price_micros, prompt_tokens, "
        + "completion_tokens, images, audio_millis, month_tokens_before, charge_micros, recorded_at) "
        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    this.select = session.prepare("SELECT * FROM " + keyspace + ".ledger WHERE tenant_id = ? AND month = ?");
  }

  /** Creates the keyspace (replication factor 1) and the table: for development and tests only. */
  public static CompletionStage<Done> createTables(CassandraSession session, String keyspace) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    List<String> statements = Arrays.stream(ddl().replace("${keyspace}", keyspace).split(";"))
        .map(String::strip).filter(s -> !s.isEmpty() && !s.startsWith("--")).toList();
    CompletionStage<Done> chain = java.util.concurrent.CompletableFuture.completedFuture(Done.getInstance());
    for (String stmt : statements) {
      chain = chain.thenCompose(d -> session.executeDDL(stmt));
    }
    return chain;
  }

  static String ddl() {
    try (InputStream in = CassandraLedgerRepository.class.getResourceAsStream("/aimos/billing/ledger.cql")) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      StringBuilder sb = new StringBuilder();
      for (String line : text.split("\n")) {
        if (!line.strip().startsWith("--")) {
          sb.append(line).append('\n');
        }
      }
      return sb.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public CompletionStage<Done> upsert(LedgerRow r) {
    return insert.thenCompose(ps -> session.executeWrite(bind(ps, r)));
  }

  /**
   * Rows of one (tenant, month) partition go in unlogged batches of up to {@value #BATCH} (one partition, so the
   * batch is a single mutation); batches of different partitions are written concurrently.
   */
  @Override
  public CompletionStage<Done> upsertAll(List<LedgerRow> rows) {
    return insert.thenCompose(ps -> {
      java.util.Map<String, List<LedgerRow>> byPartition = new java.util.LinkedHashMap<>();
      rows.forEach(r -> byPartition.computeIfAbsent(r.tenantId() + "\u0000" + r.month(), k -> new java.util.ArrayList<>())
          .add(r));
      List<java.util.concurrent.CompletableFuture<Done>> writes = new java.util.ArrayList<>();
      for (List<LedgerRow> partition : byPartition.values()) {
        for (int i = 0; i < partition.size(); i += BATCH) {
          BatchStatementBuilder batch = BatchStatement.builder(DefaultBatchType.UNLOGGED);
          partition.subList(i, Math.min(partition.size(), i + BATCH)).forEach(r -> batch.addStatement(bind(ps, r)));
          writes.add(session.executeWriteBatch(batch.build()).toCompletableFuture());
        }
      }
      return java.util.concurrent.CompletableFuture.allOf(writes.toArray(java.util.concurrent.CompletableFuture[]::new))
          .thenApply(v -> Done.getInstance());
    });
  }

  private static final int BATCH = 50;

  private static BoundStatement bind(PreparedStatement ps, LedgerRow r) {
    return ps.bind(r.tenantId(), r.month(), r.persistenceId(), r.sequenceNr(), r.requestId(), r.model(), r.version(),
        r.unit().name(), r.unitPriceMicros(), r.units().promptTokens(), r.units().completionTokens(), r.units().images(),
        r.units().audioMillis(), r.monthTokensBefore(), r.chargeMicros(), Instant.ofEpochMilli(r.recordedAtMillis()));
  }

  @Override
  public CompletionStage<List<LedgerRow>> rows(String tenantId, String month) {
    return select.thenCompose(ps -> session.selectAll(ps.bind(tenantId, month)))
        .thenApply(rows -> rows.stream().map(CassandraLedgerRepository::toRow).toList());
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
