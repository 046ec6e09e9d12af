package aimos.billing.invoice;

import com.datastax.oss.driver.api.core.ConsistencyLevel;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.AsyncResultSet;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * Invoices, credit notes and the gapless number sequences in the billing keyspace (DDL: aimos/billing/invoices.cql).
 * Conditional writes are lightweight transactions; reads that must see them read at SERIAL consistency.
 */
public final class InvoiceStore {
  private static final Pattern KEYSPACE = Pattern.compile("[a-zA-Z][a-zA-Z0-9_]{0,47}");
  static final ObjectMapper JSON = new ObjectMapper()
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final CassandraSession session;
  private final String ks;

  public InvoiceStore(CassandraSession session, String keyspace) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    this.session = session;
    this.ks = keyspace;
  }

  /** Creates the tables (the keyspace exists already: the ledger's DDL makes it). Development and tests only. */
  public static CompletionStage<Done> createTables(CassandraSession session, String keyspace) {
    return aimos.billing.CqlScript.apply(session, "/aimos/billing/invoices.cql", keyspace);
  }

  // ---- documents ----

  static String write(Object doc) {
    try {
      return JSON.writeValueAsString(doc);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + doc.getClass().getSimpleName(), e);
    }
  }

  static <T> T read(String json, Class<T> type) {
    try {
      return JSON.readValue(json, type);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("stored " + type.getSimpleName() + " cannot be read: " + e.getOriginalMessage());
    }
  }

  // ---- statements ----

  private CompletionStage<AsyncResultSet> run(SimpleStatement st) {
    return session.underlying().thenCompose(cql -> cql.executeAsync(st.setTimeout(TIMEOUT)));
  }

  private CompletionStage<List<Row>> all(SimpleStatement st) {
    return run(st).thenCompose(rs -> collect(rs, new ArrayList<>()));
  }

  private static CompletionStage<List<Row>> collect(AsyncResultSet rs, List<Row> into) {
    for (Row r : rs.currentPage()) {
      into.add(r);
    }
    return rs.hasMorePages() ? rs.fetchNextPage().thenCompose(next -> collect(next, into))
        : CompletableFuture.completedFuture(into);
  }

  private static SimpleStatement serial(SimpleStatement st) {
    return st.setConsistencyLevel(ConsistencyLevel.SERIAL);
  }

  // ---- invoices ----

  /**
   * Writes the draft of the invoice's tenant and month: a new one when {@code replacing} is null, else in place of the
   * draft of that revision. False when the row is not as expected (another node drafted or finalized meanwhile).
   * Every write of the draft row is a lightweight transaction, so none is ordered by clocks.
   */
  public CompletionStage<Boolean> putDraft(Invoice draft, String replacing) {
    SimpleStatement st = replacing == null
        ? SimpleStatement.newInstance("INSERT INTO " + ks + ".invoices (tenant_id, month, id, status, revision, "
            + "total_micros, doc, updated_at) VALUES (?, ?, 'draft', 'draft', ?, ?, ?, ?) IF NOT EXISTS",
            draft.tenantId(), draft.month(), draft.draftRevision(), draft.totalMicros(), write(draft), Instant.now())
        : SimpleStatement.newInstance("UPDATE " + ks + ".invoices SET revision = ?, total_micros = ?, doc = ?, "
            + "updated_at = ? WHERE tenant_id = ? AND month = ? AND id = 'draft' IF revision = ?",
            draft.draftRevision(), draft.totalMicros(), write(draft), Instant.now(), draft.tenantId(), draft.month(),
            replacing);
    return run(st).thenApply(AsyncResultSet::wasApplied);
  }

  /** The invoices of a tenant-month (draft and numbered), read at SERIAL so that conditional writes are seen. */
  public CompletionStage<List<Invoice>> month(String tenantId, String month) {
    return all(serial(SimpleStatement.newInstance("SELECT status, doc FROM " + ks + ".invoices WHERE tenant_id = ? "
        + "AND month = ?", tenantId, month))).thenApply(InvoiceStore::invoices);
  }

  /** Every invoice of a tenant, newest month first. */
  public CompletionStage<List<Invoice>> tenant(String tenantId) {
    return all(SimpleStatement.newInstance("SELECT status, doc FROM " + ks + ".invoices WHERE tenant_id = ?",
        tenantId)).thenApply(InvoiceStore::invoices);
  }

  /** The statuses of a tenant's invoice rows by month (draft, finalized, void), without reading the documents. */
  public CompletionStage<java.util.Map<String, java.util.Set<String>>> statuses(String tenantId) {
    return all(SimpleStatement.newInstance("SELECT month, status FROM " + ks + ".invoices WHERE tenant_id = ?",
        tenantId)).thenApply(rows -> {
          java.util.Map<String, java.util.Set<String>> out = new java.util.TreeMap<>();
          for (Row r : rows) {
            out.computeIfAbsent(r.getString("month"), m -> new java.util.TreeSet<>()).add(r.getString("status"));
          }
          return out;
        });
  }

  private static List<Invoice> invoices(List<Row> rows) {
    return rows.stream().map(r -> read(r.getString("doc"), Invoice.class)).toList();
  }

  /** Where a number's invoice is, once its finalization is complete. */
  public CompletionStage<Optional<String[]>> locate(String number) {
    return run(SimpleStatement.newInstance("SELECT tenant_id, month FROM " + ks + ".invoice_numbers WHERE number = ?",
        number)).thenApply(rs -> Optional.ofNullable(rs.one())
        .map(r -> new String[] {r.getString("tenant_id"), r.getString("month")}));
  }

  /** Inserts a finalized invoice unless its row exists (a later void is never undone); true when written now. */
  CompletionStage<Boolean> insertFinalized(Invoice inv) {
    return run(SimpleStatement.newInstance("INSERT INTO " + ks + ".invoices (tenant_id, month, id, status, revision, "
        + "total_micros, doc, updated_at) VALUES (?, ?, ?, 'finalized', ?, ?, ?, ?) IF NOT EXISTS", inv.tenantId(),
        inv.month(), inv.number(), inv.draftRevision(), inv.totalMicros(), write(inv), Instant.now()))
        .thenApply(AsyncResultSet::wasApplied);
  }

  /** Removes the draft the invoice was finalized from, unless it was recomputed since. */
  CompletionStage<Done> removeDraft(Invoice inv) {
    return run(SimpleStatement.newInstance("DELETE FROM " + ks + ".invoices WHERE tenant_id = ? AND month = ? AND "
        + "id = 'draft' IF revision = ?", inv.tenantId(), inv.month(), inv.draftRevision()))
        .thenApply(rs -> Done.getInstance());
  }

  CompletionStage<Done> recordNumber(Invoice inv) {
    return run(SimpleStatement.newInstance("INSERT INTO " + ks + ".invoice_numbers (number, tenant_id, month) "
        + "VALUES (?, ?, ?)", inv.number(), inv.tenantId(), inv.month())).thenApply(rs -> Done.getInstance());
  }

  /** Voids a finalized invoice; false when it is not finalized (any more). */
  CompletionStage<Boolean> voidInvoice(Invoice voided) {
    return run(SimpleStatement.newInstance("UPDATE " + ks + ".invoices SET status = 'void', doc = ?, updated_at = ? "
        + "WHERE tenant_id = ? AND month = ? AND id = ? IF status = 'finalized'", write(voided), Instant.now(),
        voided.tenantId(), voided.month(), voided.number())).thenApply(AsyncResultSet::wasApplied);
  }

  // ---- credit notes ----

  public CompletionStage<List<CreditNote>> creditNotes(String invoiceNumber) {
    return all(serial(SimpleStatement.newInstance("SELECT doc FROM " + ks + ".credit_notes WHERE invoice_number = ?",
        invoiceNumber))).thenApply(rows -> rows.stream().map(r -> read(r.getString("doc"), CreditNote.class)).toList());
  }

  CompletionStage<Boolean> hasCreditNote(CreditNote cn) {
    return run(serial(SimpleStatement.newInstance("SELECT number FROM " + ks + ".credit_notes WHERE invoice_number = ? "
        + "AND number = ?", cn.invoiceNumber(), cn.number()))).thenApply(rs -> rs.one() != null);
  }

  CompletionStage<Done> insertCreditNote(CreditNote cn) {
    return run(SimpleStatement.newInstance("INSERT INTO " + ks + ".credit_notes (invoice_number, number, tenant_id, "
        + "amount_micros, doc, created_at) VALUES (?, ?, ?, ?, ?, ?)", cn.invoiceNumber(), cn.number(), cn.tenantId(),
        cn.amountMicros(), write(cn), Instant.ofEpochMilli(cn.createdAtMillis()))).thenApply(rs -> Done.getInstance());
  }

  // ---- sequences ----

  /** The last number of a series and its document; 0 and null before the first. */
  public record SequenceState(long last, String lastDoc) {}

  CompletionStage<SequenceState> sequence(String series) {
    return run(serial(SimpleStatement.newInstance("SELECT last, last_doc FROM " + ks + ".billing_sequences WHERE "
        + "series = ?", series))).thenApply(rs -> {
          Row r = rs.one();
          return r == null ? new SequenceState(0, null) : new SequenceState(r.getLong("last"), r.getString("last_doc"));
        });
  }

  /** Advances the series from {@code expected} to {@code expected + 1} for {@code doc}; false when it has moved. */
  CompletionStage<Boolean> advance(String series, long expected, String doc) {
    SimpleStatement st = expected == 0
        ? SimpleStatement.newInstance("INSERT INTO " + ks + ".billing_sequences (series, last, last_doc) VALUES "
            + "(?, 1, ?) IF NOT EXISTS", series, doc)
        : SimpleStatement.newInstance("UPDATE " + ks + ".billing_sequences SET last = ?, last_doc = ? WHERE "
            + "series = ? IF last = ?", expected + 1, doc, series, expected);
    return run(st).thenApply(AsyncResultSet::wasApplied);
  }

  /** For tests and checks: the whole CQL session. */
  CompletionStage<CqlSession> cql() {
    return session.underlying();
  }
}
