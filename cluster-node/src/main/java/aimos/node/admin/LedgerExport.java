package aimos.node.admin;

import aimos.billing.ledger.LedgerRow;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/** How exported ledger rows are written: NDJSON (one JSON row per line) or CSV with a header line. */
enum LedgerExport {
  NDJSON {
    @Override
    ByteString line(LedgerRow r) {
      try {
        return ByteString.fromArray(JSON.writeValueAsBytes(r)).concat(NEWLINE);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("cannot write ledger row " + r.sequenceNr() + " as JSON", e);
      }
    }

    @Override
    ContentType contentType() {
      return ContentTypes.create(MediaTypes.applicationWithOpenCharset("x-ndjson", "ndjson"), HttpCharsets.UTF_8);
    }

    @Override
    String extension() {
      return "ndjson";
    }
  },
  CSV {
    @Override
    Source<ByteString, NotUsed> encode(Source<LedgerRow, NotUsed> rows) {
      return Source.single(ByteString.fromString(HEADER + "\n", StandardCharsets.UTF_8)).concat(super.encode(rows));
    }

    @Override
    ByteString line(LedgerRow r) {
      String line = String.join(",", Long.toString(r.sequenceNr()), cell(r.requestId()), cell(r.model()),
          cell(r.version()), r.unit().name(), Long.toString(r.unitPriceMicros()),
          Long.toString(r.units().promptTokens()), Long.toString(r.units().completionTokens()),
          Long.toString(r.units().images()), Long.toString(r.units().audioMillis()),
          Long.toString(r.monthTokensBefore()), Long.toString(r.chargeMicros()),
          Instant.ofEpochMilli(r.recordedAtMillis()).toString());
      return ByteString.fromString(line + "\n", StandardCharsets.UTF_8);
    }

    @Override
    ContentType contentType() {
      return ContentTypes.TEXT_CSV_UTF8;
    }

    @Override
    String extension() {
      return "csv";
    }
  };

  static final String HEADER = "sequence_nr,request_id,model,version,billing_unit,unit_price_micros,prompt_tokens,"
      + "completion_tokens,images,audio_millis,month_tokens_before,charge_micros,recorded_at";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ByteString NEWLINE = ByteString.fromString("\n");

  static LedgerExport of(String format) {
    return switch (format) {
      case "ndjson" -> NDJSON;
      case "csv" -> CSV;
      default -> throw new IllegalArgumentException("format must be ndjson or csv, was '"
          + (format.length() <= 20 ? format : format.substring(0, 20) + "...") + "'");
    };
  }

  Source<ByteString, NotUsed> encode(Source<LedgerRow, NotUsed> rows) {
    return rows.map(this::line);
  }

  abstract ByteString line(LedgerRow r);

  abstract ContentType contentType();

  abstract String extension();

  /** A CSV cell, quoted when it holds a comma, a quote or a line break. */
  static String cell(String s) {
    if (s.indexOf(',') < 0 && s.indexOf('"') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0) {
      return s;
    }
    return '"' + s.replace("\"", "\"\"") + '"';
  }
}
