package aimos.node.admin;

import aimos.billing.invoice.CreditNote;
import aimos.billing.invoice.Invoice;
import aimos.billing.invoice.InvoiceCalculator;
import aimos.billing.invoice.InvoiceDocuments;
import aimos.billing.invoice.UsageLine;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * Billing documents as streamed exports, shared by the admin API and the tenants' own {@code /v1/billing} routes:
 * JSON (a whole array, where a route offers it), CSV (a header line, then one row per item) or NDJSON (one JSON object
 * per line), chosen by {@code ?format=json|csv|ndjson} or else the {@code Accept} header. Bodies are chunked: each item
 * is written as the source gives it.
 */
public final class BillingExports {
  private BillingExports() {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ByteString NEWLINE = ByteString.fromString("\n");
  public static final ContentType NDJSON_TYPE = ContentTypes.create(
      MediaTypes.applicationWithOpenCharset("x-ndjson", "ndjson"), HttpCharsets.UTF_8);

  public enum Format {
    JSON("application/json", "json"), CSV("text/csv", "csv"), NDJSON("application/x-ndjson", "ndjson");

    final String mediaType;
    final String label;

    Format(String mediaType, String label) {
      this.mediaType = mediaType;
      this.label = label;
    }
  }

  /** An Accept header that names none of the formats a route serves: answered 406. */
  public static final class NotAcceptable extends RuntimeException {
    public NotAcceptable(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The format to answer in: {@code ?format=} when given (a value the route does not serve is an
   * IllegalArgumentException), else the best the Accept header allows (by q, then order; {@code *}{@code /*},
   * {@code text/*} and {@code application/*} match the first format of {@code offered} they cover), else the first
   * of {@code offered}. An Accept header that allows none of them throws {@link NotAcceptable}.
   */
  public static Format negotiate(Optional<String> format, Optional<String> accept, List<Format> offered) {
    if (format.isPresent()) {
      for (Format f : offered) {
        if (f.label.equals(format.get())) {
          return f;
        }
      }
      throw new IllegalArgumentException("format must be " + names(offered, "name") + ", was '"
          + clip(format.get()) + "'");
    }
    if (accept.isEmpty() || accept.get().isBlank()) {
      return offered.get(0);
    }
    record Range(String type, double q, int order) {}
    List<Range> ranges = new ArrayList<>();
    String[] parts = accept.get().split(",");
    for (int i = 0; i < parts.length; i++) {
      String[] p = parts[i].split(";");
      double q = 1;
      for (int j = 1; j < p.length; j++) {
        String param = p[j].trim();
        if (param.startsWith("q=")) {
          try {
            q = Double.parseDouble(param.substring(2));
          } catch (NumberFormatException e) {
            q = 0;
          }
        }
      }
      String type = p[0].trim().toLowerCase(Locale.ROOT);
      if (q > 0 && !type.isEmpty()) {
        ranges.add(new Range(type, q, i));
      }
    }
    ranges.sort((a, b) -> a.q() != b.q() ? Double.compare(b.q(), a.q()) : Integer.compare(a.order(), b.order()));
    for (Range r : ranges) {
      for (Format f : offered) {
        if (covers(r.type(), f)) {
          return f;
        }
      }
    }
    throw new NotAcceptable("Accept: " + clip(accept.get()) + " names no format this route serves: send Accept: "
        + names(offered, "mediaType") + " (or ?format=" + names(offered, "name") + ")");
  }

  private static boolean covers(String range, Format f) {
    if (range.equals("*/*") || range.equals(f.mediaType)) {
      return true;
    }
    if (f == Format.NDJSON && range.equals("application/ndjson")) {
      return true;
    }
    return range.endsWith("/*") && f.mediaType.startsWith(range.substring(0, range.length() - 1));
  }

  private static String names(List<Format> offered, String what) {
    List<String> n = offered.stream().map(f -> what.equals("name") ? f.label : f.mediaType).toList();
    return n.size() == 1 ? n.get(0) : String.join(", ", n.subList(0, n.size() - 1)) + " or " + n.get(n.size() - 1);
  }

  private static String clip(String s) {
    return s.length() <= 60 ? s : s.substring(0, 60) + "...";
  }

  /** A chunked response of the items in the format, with a download file name (without extension). */
  public static <T> HttpResponse respond(Format format, Source<T, NotUsed> items, Exported<T> kind, String fileName) {
    Source<ByteString, NotUsed> body = switch (format) {
      case CSV -> Source.single(ByteString.fromString(String.join(",", kind.header()) + "\n", StandardCharsets.UTF_8))
          .concat(items.map(i -> csvLine(kind.row(i))));
      case NDJSON -> items.map(i -> json(kind.object(i)).concat(NEWLINE));
      case JSON -> Source.single(ByteString.fromString("[")).concat(items.map(i -> json(kind.object(i)))
          .intersperse(ByteString.fromString(","))).concat(Source.single(ByteString.fromString("]")));
    };
    ContentType type = switch (format) {
      case CSV -> ContentTypes.TEXT_CSV_UTF8;
      case NDJSON -> NDJSON_TYPE;
      case JSON -> ContentTypes.APPLICATION_JSON;
    };
    HttpResponse r = HttpResponse.create().withEntity(HttpEntities.createChunked(type, body));
    return format == Format.JSON ? r : r.addHeader(RawHeader.create("Content-Disposition",
        "attachment; filename=\"" + fileName + "." + format.label + "\""));
  }

  /** How one kind of item is exported: its CSV header and row, and its JSON object. */
  public interface Exported<T> {
    List<String> header();

    List<Object> row(T item);

    Map<String, Object> object(T item);
  }

  public static final Exported<UsageLine> USAGE_LINES = new Exported<>() {
    @Override
    public List<String> header() {
      return List.of("kind", "day", "model", "version", "unit", "unit_price_usd", "quantity", "units", "requests",
          "amount_usd", "amount_micros");
    }

    @Override
    public List<Object> row(UsageLine l) {
      return java.util.Arrays.asList(l.kind(), l.day(), l.model(), l.version(), l.unit(),
          l.unit() == null ? null : InvoiceCalculator.usd(l.unitPriceMicros()), l.quantity(), l.units(),
          l.requests(), InvoiceCalculator.usd(l.amountMicros()), l.amountMicros());
    }

    @Override
    public Map<String, Object> object(UsageLine l) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("kind", l.kind());
      if (l.day() != null) {
        m.put("day", l.day());
        m.put("model", l.model());
        m.put("version", l.version());
        m.put("unit", l.unit());
        m.put("unitPriceUsd", InvoiceCalculator.usd(l.unitPriceMicros()));
        m.put("quantity", l.quantity());
        m.put("units", l.units());
        m.put("requests", l.requests());
      }
      m.put("amountUsd", InvoiceCalculator.usd(l.amountMicros()));
      m.put("amountMicros", l.amountMicros());
      return m;
    }
  };

  public static final Exported<Invoice> INVOICES = new Exported<>() {
    @Override
    public List<String> header() {
      return List.of("id", "number", "status", "tenant_id", "month", "currency", "total_usd", "total_micros",
          "finalized_at");
    }

    @Override
    public List<Object> row(Invoice i) {
      Map<String, Object> s = InvoiceDocuments.summary(i);
      return java.util.Arrays.asList(s.get("id"), s.get("number"), s.get("status"), s.get("tenantId"), s.get("month"),
          s.get("currency"), s.get("totalUsd"), s.get("totalMicros"), s.get("finalizedAt"));
    }

    @Override
    public Map<String, Object> object(Invoice i) {
      return InvoiceDocuments.summary(i);
    }
  };

  public static final Exported<CreditNote> CREDIT_NOTES = new Exported<>() {
    @Override
    public List<String> header() {
      return List.of("number", "invoice_number", "tenant_id", "month", "reason", "note", "amount_usd",
          "amount_micros", "created_at");
    }

    @Override
    public List<Object> row(CreditNote c) {
      Map<String, Object> s = InvoiceDocuments.json(c);
      return java.util.Arrays.asList(s.get("number"), s.get("invoiceNumber"), s.get("tenantId"), s.get("month"),
          s.get("reason"), s.get("note"), s.get("amountUsd"), s.get("amountMicros"), s.get("createdAt"));
    }

    @Override
    public Map<String, Object> object(CreditNote c) {
      return InvoiceDocuments.json(c);
    }
  };

  private static ByteString json(Map<String, Object> m) {
    try {
      return ByteString.fromArray(JSON.writeValueAsBytes(m));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write an export row as JSON", e);
    }
  }

  private static ByteString csvLine(List<Object> cells) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      if (i > 0) {
        b.append(',');
      }
      Object c = cells.get(i);
      b.append(c == null ? "" : LedgerExport.cell(csvSafe(c.toString())));
    }
    return ByteString.fromString(b.append('\n').toString(), StandardCharsets.UTF_8);
  }

  /** A text cell a spreadsheet would take for a formula gets a leading apostrophe; numbers stay as they are. */
  static String csvSafe(String s) {
    if (s.isEmpty()) {
      return s;
    }
    char c = s.charAt(0);
    boolean number = s.matches("-?\\d+(\\.\\d+)?");
    return !number && (c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r') ? "'" + s : s;
  }

  /**
   * A route that answers the items in the negotiated format: {@code read} is called only once the format is settled
   * and its stage fails (for example not found) before any byte is sent; {@code failure} writes refusals in the API's
   * own error format (406 for an Accept header the route cannot serve, 400 for a bad {@code ?format=}).
   */
  public static <T> Route export(List<Format> offered, Exported<T> kind, String fileName,
                                 Supplier<CompletionStage<Source<T, NotUsed>>> read,
                                 BiFunction<StatusCode, Throwable, HttpResponse> failure) {
    return Directives.parameterOptional("format", format -> Directives.optionalHeaderValueByName("Accept", accept -> {
      Format f;
      CompletionStage<Source<T, NotUsed>> items;
      try {
        f = negotiate(format, accept, offered);
        items = read.get();
      } catch (RuntimeException e) {
        return Directives.complete(failure.apply(null, e));
      }
      return Directives.completeWithFuture(items.handle((src, err) -> err != null ? failure.apply(null, err)
          : respond(f, src, kind, fileName)));
    }));
  }
}
