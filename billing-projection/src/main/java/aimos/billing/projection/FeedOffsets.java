package aimos.billing.projection;

import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.BatchStatementBuilder;
import com.datastax.oss.driver.api.core.cql.DefaultBatchType;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * The billing feed's offsets (table {@code usage_feed_offsets}, DDL in {@code aimos/billing/ledger.cql}): per tag, the
 * highest sequence number of each tenant's journal whose usage the ledger and the rollups hold.
 */
public final class FeedOffsets {
  private static final Pattern KEYSPACE = Pattern.compile("[a-z][a-z0-9_]{0,47}");
  /** Offsets of one save go in unlogged batches of at most this many rows (one partition: a single mutation). */
  static final int BATCH = 100;

  private final CassandraSession session;
  private final CompletionStage<PreparedStatement> select;
  private final CompletionStage<PreparedStatement> upsert;

  public FeedOffsets(CassandraSession session, String keyspace) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    this.session = session;
    String table = keyspace + ".usage_feed_offsets";
    this.select = session.prepare("SELECT tenant_id, sequence_nr FROM " + table + " WHERE tag = ?");
    this.upsert = session.prepare("INSERT INTO " + table + " (tag, tenant_id, sequence_nr) VALUES (?, ?, ?)");
  }

  /** Every tenant's offset of the tag; a tag's partition holds one short row per tenant of that tag. */
  public CompletionStage<Map<String, Long>> load(String tag) {
    return select.thenCompose(ps -> session.selectAll(ps.bind(tag))).thenApply(rows -> {
      Map<String, Long> offsets = new HashMap<>(rows.size() * 2);
      rows.forEach(r -> offsets.put(r.getString("tenant_id"), r.getLong("sequence_nr")));
      return offsets;
    });
  }

  public CompletionStage<Done> save(String tag, Map<String, Long> offsets) {
    if (offsets.isEmpty()) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return upsert.thenCompose(ps -> {
      List<CompletableFuture<Done>> writes = new ArrayList<>();
      BatchStatementBuilder batch = BatchStatement.builder(DefaultBatchType.UNLOGGED);
      for (Map.Entry<String, Long> e : offsets.entrySet()) {
        batch.addStatement(ps.bind(tag, e.getKey(), e.getValue()));
        if (batch.getStatementsCount() == BATCH) {
          writes.add(session.executeWriteBatch(batch.build()).toCompletableFuture());
          batch = BatchStatement.builder(DefaultBatchType.UNLOGGED);
        }
      }
      if (batch.getStatementsCount() > 0) {
        writes.add(session.executeWriteBatch(batch.build()).toCompletableFuture());
      }
      return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
    });
  }
}
