package aimos.access.audit;

import com.datastax.oss.driver.api.core.cql.Row;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/** The audit log in Cassandra ({@code aimos/access/audit.cql}): rows in partitions of {@value #BUCKET} records. */
public final class AuditStore {
  static final long BUCKET = 10_000;
  /** At most this many records in one page. */
  public static final int MAX_PAGE = 1_000;
  private static final Pattern KEYSPACE = Pattern.compile("[a-zA-Z][a-zA-Z0-9_]{0,47}");

  private final CassandraSession session;
  private final String table;

  public AuditStore(CassandraSession session, String keyspace) {
    this.session = session;
    this.table = valid(keyspace) + ".audit_log";
  }

  private static String valid(String keyspace) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    return keyspace;
  }

  public static CompletionStage<Done> createTables(CassandraSession session, String keyspace) {
    String ddl;
    try (InputStream in = AuditStore.class.getResourceAsStream("/aimos/access/audit.cql")) {
      ddl = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    StringBuilder sb = new StringBuilder();
    for (String line : ddl.split("\n")) {
      if (!line.strip().startsWith("--")) {
        sb.append(line).append('\n');
      }
    }
    List<String> statements = Arrays.stream(sb.toString().replace("${keyspace}", valid(keyspace)).split(";"))
        .map(String::strip).filter(s -> !s.isEmpty()).toList();
    CompletionStage<Done> chain = CompletableFuture.completedFuture(Done.getInstance());
    for (String stmt : statements) {
      chain = chain.thenCompose(d -> session.executeDDL(stmt));
    }
    return chain;
  }

  /**
   * Writes a record if its seq is free. False when another writer took that seq first (two writers for a moment,
   * as in a split brain): the caller must not claim the seq.
   */
  public CompletionStage<Boolean> insert(AuditRecord r) {
    return session.prepare("INSERT INTO " + table + " (bucket, seq, at_millis, actor, role, action, target, request_id,"
        + " summary, prev_hash, hash, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS")
        .thenCompose(ps -> session.selectOne(ps.bind(r.seq() / BUCKET, r.seq(), r.atMillis(), r.actor(), r.role(),
            r.action(), r.target(), r.requestId(), r.summary(), r.prevHash(), r.hash(), r.signature())))
        .thenApply(row -> row.map(x -> x.getBoolean("[applied]")).orElse(false));
  }

  /** Up to {@code limit} records from {@code fromSeq} on, in order. */
  public CompletionStage<List<AuditRecord>> page(long fromSeq, int limit) {
    if (fromSeq < 1) {
      throw new IllegalArgumentException("from must be at least 1, was " + fromSeq);
    }
    if (limit < 1 || limit > MAX_PAGE) {
      throw new IllegalArgumentException("limit must be between 1 and " + MAX_PAGE + ", was " + limit);
    }
    return collect(fromSeq, limit, new ArrayList<>());
  }

  private CompletionStage<List<AuditRecord>> collect(long fromSeq, int limit, List<AuditRecord> out) {
    long bucket = fromSeq / BUCKET;
    return session.selectAll("SELECT * FROM " + table + " WHERE bucket = ? AND seq >= ? LIMIT ?", bucket, fromSeq,
        limit - out.size()).thenCompose(rows -> {
          rows.forEach(row -> out.add(record(row)));
          if (out.size() >= limit) {
            return CompletableFuture.completedFuture(out);
          }
          // this bucket has no more: go on in the next one if there is one
          return hasBucket(bucket + 1).thenCompose(more -> more
              ? collect((bucket + 1) * BUCKET, limit, out)
              : CompletableFuture.completedFuture(out));
        });
  }

  private CompletionStage<Boolean> hasBucket(long bucket) {
    return session.selectOne("SELECT seq FROM " + table + " WHERE bucket = ? LIMIT 1", bucket)
        .thenApply(Optional::isPresent);
  }

  /** The newest record, found by walking the buckets: for the writer's start. */
  public CompletionStage<Optional<AuditRecord>> last() {
    return lastFrom(0, Optional.empty());
  }

  private CompletionStage<Optional<AuditRecord>> lastFrom(long bucket, Optional<AuditRecord> found) {
    return session.selectOne("SELECT * FROM " + table + " WHERE bucket = ? ORDER BY seq DESC LIMIT 1", bucket)
        .thenCompose(row -> row.isEmpty()
            ? CompletableFuture.completedFuture(found)
            : lastFrom(bucket + 1, Optional.of(record(row.get()))));
  }

  private static AuditRecord record(Row row) {
    return new AuditRecord(row.getLong("seq"), row.getLong("at_millis"), row.getString("actor"),
        row.getString("role"), row.getString("action"), row.getString("target"), row.getString("request_id"),
        row.getString("summary"), row.getString("prev_hash"), row.getString("hash"), row.getString("signature"));
  }
}
