package aimos.node.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import aimos.node.admin.BillingExports.Format;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BillingExportsTest {
  private static final List<Format> DOCUMENTS = List.of(Format.JSON, Format.CSV, Format.NDJSON);
  private static final List<Format> LINES = List.of(Format.NDJSON, Format.CSV);

  private static Format pick(String format, String accept, List<Format> offered) {
    return BillingExports.negotiate(Optional.ofNullable(format), Optional.ofNullable(accept), offered);
  }

  @Test
  void theFormatParameterWinsThenAcceptByQualityThenTheRoutesDefault() {
    assertEquals(Format.CSV, pick("csv", "application/json", DOCUMENTS));
    assertEquals(Format.JSON, pick(null, null, DOCUMENTS));
    assertEquals(Format.NDJSON, pick(null, "", LINES));
    assertEquals(Format.CSV, pick(null, "text/csv", DOCUMENTS));
    assertEquals(Format.NDJSON, pick(null, "application/x-ndjson", DOCUMENTS));
    assertEquals(Format.NDJSON, pick(null, "application/ndjson", DOCUMENTS));
    assertEquals(Format.CSV, pick(null, "application/x-ndjson;q=0.5, text/csv", DOCUMENTS));
    assertEquals(Format.JSON, pick(null, "text/html,application/xhtml+xml,*/*;q=0.8", DOCUMENTS));
    assertEquals(Format.NDJSON, pick(null, "*/*", LINES));
    assertEquals(Format.CSV, pick(null, "text/*", LINES));
    assertEquals(Format.NDJSON, pick(null, "application/*", LINES));
    assertEquals(Format.JSON, pick(null, "TEXT/CSV;q=0, application/json", DOCUMENTS));
  }

  @Test
  void anAcceptNoFormatMatchesIsNotAcceptableAndABadFormatIsInvalid() {
    var none = assertThrows(BillingExports.NotAcceptable.class, () -> pick(null, "application/json", LINES));
    assertEquals("Accept: application/json names no format this route serves: send Accept: application/x-ndjson "
        + "or text/csv (or ?format=ndjson or csv)", none.getMessage());
    assertThrows(BillingExports.NotAcceptable.class, () -> pick(null, "text/csv;q=0", DOCUMENTS));
    var bad = assertThrows(IllegalArgumentException.class, () -> pick("xml", null, DOCUMENTS));
    assertEquals("format must be json, csv or ndjson, was 'xml'", bad.getMessage());
  }

  @Test
  void csvCellsThatASpreadsheetWouldEvaluateAreDefused() {
    assertEquals("'=HYPERLINK(1)", BillingExports.csvSafe("=HYPERLINK(1)"));
    assertEquals("'@sum", BillingExports.csvSafe("@sum"));
    assertEquals("-0.000123", BillingExports.csvSafe("-0.000123"));
    assertEquals("-42", BillingExports.csvSafe("-42"));
    assertEquals("goodwill", BillingExports.csvSafe("goodwill"));
  }
}
