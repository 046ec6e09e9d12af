package aimos.node.admin;

import aimos.billing.ledger.LedgerReader;
import aimos.billing.ledger.UsageReport;
import aimos.billing.rollup.UsagePoint;
import aimos.billing.rollup.UsageQueries;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * A tenant's usage and ledger as the admin API and the tenant's own REST routes serve them: the query parameters
 * checked (every problem an IllegalArgumentException whose message says what to fix), usage from the rollups, the
 * ledger a page at a time or exported as a stream.
 */
public final class TenantUsage {
  private static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");
  private static final Pattern DAY = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");
  private static final Pattern LIMIT = Pattern.compile("\\d{1,9}");

  private final UsageQueries usage;
  private final LedgerReader ledger;

  public TenantUsage(UsageQueries usage, LedgerReader ledger) {
    this.usage = usage;
    this.ledger = ledger;
  }

  public CompletionStage<UsageReport> report(String tenantId, Optional<String> month) {
    return usage.report(tenantId, month(month));
  }

  public CompletionStage<List<UsagePoint>> daily(String tenantId, Optional<String> month) {
    return usage.daily(tenantId, month(month));
  }

  public CompletionStage<List<UsagePoint>> hourly(String tenantId, Optional<String> day) {
    return usage.hourly(tenantId, day(day));
  }

  /** Refuses bad ledger paging parameters before any work is done. */
  public static void checkPaging(Optional<String> month, Optional<String> cursor, Optional<String> limit) {
    String m = month(month);
    limit(limit);
    cursor.ifPresent(c -> aimos.billing.ledger.LedgerCursor.decode(c, m));
  }

  public CompletionStage<LedgerReader.Page> ledgerPage(String tenantId, Optional<String> month,
                                                       Optional<String> cursor, Optional<String> limit) {
    return ledger.page(tenantId, month(month), cursor, limit(limit));
  }

  /** The month's ledger as a response whose body is read a page at a time as the client takes it. */
  public HttpResponse export(String tenantId, Optional<String> month, Optional<String> format) {
    String m = month(month);
    LedgerExport export = LedgerExport.of(format.orElse("ndjson"));
    Source<ByteString, NotUsed> body = export.encode(ledger.rows(tenantId, m, LedgerReader.EXPORT_PAGE));
    ContentType type = export.contentType();
    return HttpResponse.create().withEntity(HttpEntities.createChunked(type, body))
        .addHeader(RawHeader.create("Content-Disposition",
            "attachment; filename=\"ledger-" + tenantId + "-" + m + "." + export.extension() + "\""));
  }

  /** A month "2026-11"; absent: the current month (UTC). */
  public static String month(Optional<String> month) {
    if (month.isEmpty()) {
      return YearMonth.now(ZoneOffset.UTC).toString();
    }
    String m = month.get();
    try {
      if (MONTH.matcher(m).matches()) {
        return YearMonth.parse(m).toString();
      }
    } catch (DateTimeException e) {
      // refused below
    }
    throw new IllegalArgumentException("month must look like 2026-11, was '" + clip(m) + "'");
  }

  /** A day "2026-11-05"; absent: today (UTC). */
  public static String day(Optional<String> day) {
    if (day.isEmpty()) {
      return LocalDate.now(ZoneOffset.UTC).toString();
    }
    String d = day.get();
    try {
      if (DAY.matcher(d).matches()) {
        return LocalDate.parse(d).toString();
      }
    } catch (DateTimeException e) {
      // refused below
    }
    throw new IllegalArgumentException("day must look like 2026-11-05, was '" + clip(d) + "'");
  }

  static int limit(Optional<String> limit) {
    if (limit.isEmpty()) {
      return LedgerReader.DEFAULT_PAGE;
    }
    String l = limit.get();
    int n = LIMIT.matcher(l).matches() ? Integer.parseInt(l) : -1;
    if (n < 1 || n > aimos.billing.ledger.LedgerRepository.MAX_PAGE) {
      throw new IllegalArgumentException("limit must be a whole number from 1 to "
          + aimos.billing.ledger.LedgerRepository.MAX_PAGE + ", was '" + clip(l) + "'");
    }
    return n;
  }

  /** Echoes at most 40 characters of a bad value. */
  private static String clip(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }
}
