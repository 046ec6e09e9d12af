package aimos.billing.invoice;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDDocumentInformation;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;

/**
 * The renderings of an invoice: JSON (the API's object), CSV (one row per line, then a total row) and PDF. Amounts
 * are written as exact decimal dollars ({@code "12.345678"}) and as integer micro-dollars.
 */
public final class InvoiceDocuments {
  private InvoiceDocuments() {}

  public static Map<String, Object> json(Invoices.View view) {
    Invoice inv = view.invoice();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", inv.id());
    m.put("number", inv.number());
    m.put("status", inv.status());
    m.put("tenantId", inv.tenantId());
    m.put("month", inv.month());
    m.put("periodStart", inv.month() + "-01T00:00:00Z");
    m.put("periodEnd", Invoices.monthEnd(inv.month()).toString());
    m.put("currency", inv.currency());
    m.put("requests", inv.requests());
    List<Map<String, Object>> lines = new ArrayList<>();
    for (InvoiceLine l : inv.lines()) {
      lines.add(line(l));
    }
    m.put("lines", lines);
    m.put("usageUsd", InvoiceCalculator.usd(inv.usageMicros()));
    m.put("discountUsd", InvoiceCalculator.usd(inv.discountMicros()));
    m.put("slaCreditUsd", InvoiceCalculator.usd(inv.slaCreditMicros()));
    m.put("totalUsd", InvoiceCalculator.usd(inv.totalMicros()));
    m.put("totalMicros", inv.totalMicros());
    if (!Invoice.DRAFT.equals(inv.status())) {
      m.put("creditedUsd", InvoiceCalculator.usd(view.creditedMicros()));
      m.put("remainingUsd", InvoiceCalculator.usd(view.remainingMicros()));
      m.put("creditNotes", view.creditNotes().stream().map(InvoiceDocuments::json).toList());
    }
    m.put("computedAt", instant(inv.computedAtMillis()));
    m.put("finalizedAt", instant(inv.finalizedAtMillis()));
    m.put("voidedAt", instant(inv.voidedAtMillis()));
    if (inv.voidReason() != null) {
      m.put("voidReason", inv.voidReason());
    }
    return m;
  }

  /** The short form in a list of invoices. */
  public static Map<String, Object> summary(Invoice inv) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", inv.id());
    m.put("number", inv.number());
    m.put("status", inv.status());
    m.put("tenantId", inv.tenantId());
    m.put("month", inv.month());
    m.put("currency", inv.currency());
    m.put("totalUsd", InvoiceCalculator.usd(inv.totalMicros()));
    m.put("totalMicros", inv.totalMicros());
    m.put("finalizedAt", instant(inv.finalizedAtMillis()));
    return m;
  }

  private static Map<String, Object> line(InvoiceLine l) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kind", l.kind());
    m.put("description", l.description());
    if (InvoiceLine.USAGE.equals(l.kind())) {
      m.put("model", l.model());
      m.put("version", l.version());
      m.put("unit", l.unit());
      m.put("quantity", l.quantity());
      m.put("unitPriceUsd", InvoiceCalculator.usd(l.unitPriceMicros()));
      m.put("requests", l.requests());
    }
    m.put("amountUsd", InvoiceCalculator.usd(l.amountMicros()));
    m.put("amountMicros", l.amountMicros());
    return m;
  }

  public static Map<String, Object> json(CreditNote cn) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("number", cn.number());
    m.put("invoiceNumber", cn.invoiceNumber());
    m.put("tenantId", cn.tenantId());
    m.put("month", cn.month());
    m.put("reason", cn.reason());
    m.put("note", cn.note());
    m.put("amountUsd", InvoiceCalculator.usd(cn.amountMicros()));
    m.put("amountMicros", cn.amountMicros());
    m.put("createdAt", instant(cn.createdAtMillis()));
    return m;
  }

  static Map<String, Object> eventData(Invoice inv) {
    Map<String, Object> m = summary(inv);
    m.put("lines", inv.lines().size());
    return m;
  }

  static Map<String, Object> eventData(CreditNote cn) {
    return json(cn);
  }

  private static String instant(long millis) {
    return millis == 0 ? null : Instant.ofEpochMilli(millis).toString();
  }

  // ---- CSV ----

  public static final String CSV_HEADER = "invoice,tenant,month,status,line,kind,description,model,version,unit,"
      + "quantity,unit_price_usd,requests,amount_usd";

  /** RFC 4180 CSV: a header, one row per line, a final row of kind {@code total}. */
  public static String csv(Invoice inv) {
    StringBuilder sb = new StringBuilder(CSV_HEADER).append("\r\n");
    int n = 0;
    for (InvoiceLine l : inv.lines()) {
      n++;
      boolean usage = InvoiceLine.USAGE.equals(l.kind());
      row(sb, inv, Integer.toString(n), l.kind(), l.description(), l.model(), l.version(), l.unit(), l.quantity(),
          usage ? InvoiceCalculator.usd(l.unitPriceMicros()) : "", usage ? Long.toString(l.requests()) : "",
          InvoiceCalculator.usd(l.amountMicros()));
    }
    row(sb, inv, "", "total", "Total", "", "", "", "", "", Long.toString(inv.requests()),
        InvoiceCalculator.usd(inv.totalMicros()));
    return sb.toString();
  }

  private static void row(StringBuilder sb, Invoice inv, String... cells) {
    List<String> all = new ArrayList<>(List.of(inv.id(), inv.tenantId(), inv.month(), inv.status()));
    all.addAll(java.util.Arrays.asList(cells));
    for (int i = 0; i < all.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(cell(all.get(i)));
    }
    sb.append("\r\n");
  }

  private static String cell(String s) {
    if (s == null) {
      return "";
    }
    // a leading =, +, - or @ would be a formula to a spreadsheet; amounts are written without quotes
    boolean formula = !s.isEmpty() && "=+@".indexOf(s.charAt(0)) >= 0;
    if (formula || s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")) {
      return "\"" + (formula ? "'" : "") + s.replace("\"", "\"\"") + "\"";
    }
    return s;
  }

  // ---- PDF ----

  /** An A4 PDF (Apache PDFBox, standard Helvetica): header, lines, totals and credit notes. */
  public static byte[] pdf(Invoices.View view) {
    Invoice inv = view.invoice();
    PDType1Font regular = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
    PDType1Font bold = new PDType1Font(Standard14Fonts.FontName.HELVETICA_BOLD);
    try (PDDocument doc = new PDDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      PDDocumentInformation info = doc.getDocumentInformation();
      info.setTitle("Invoice " + inv.id());
      info.setCreator("AIMOS");
      List<String[]> rows = new ArrayList<>();
      for (InvoiceLine l : inv.lines()) {
        boolean usage = InvoiceLine.USAGE.equals(l.kind());
        rows.add(new String[] {usage ? l.model() + " " + l.version() : l.description(), usage ? l.unit() : "",
            usage ? l.quantity() : "", usage ? InvoiceCalculator.usd(l.unitPriceMicros()) : "",
            InvoiceCalculator.usd(l.amountMicros())});
      }
      PDPage page = null;
      PDPageContentStream cs = null;
      float y = 0;
      int i = 0;
      do {
        if (cs == null || y < 90) {
          if (cs != null) {
            cs.close();
          }
          page = new PDPage(PDRectangle.A4);
          doc.addPage(page);
          cs = new PDPageContentStream(doc, page);
          y = page.getMediaBox().getHeight() - 60;
          if (doc.getNumberOfPages() == 1) {
            y = header(cs, inv, regular, bold, y);
          }
          text(cs, bold, 9, 50, y, "Item");
          text(cs, bold, 9, 250, y, "Unit");
          text(cs, bold, 9, 330, y, "Quantity");
          text(cs, bold, 9, 410, y, "Unit price");
          text(cs, bold, 9, 490, y, "Amount (USD)");
          y -= 16;
        }
        if (i < rows.size()) {
          String[] r = rows.get(i);
          text(cs, regular, 9, 50, y, fit(r[0], 38));
          text(cs, regular, 9, 250, y, r[1]);
          text(cs, regular, 9, 330, y, r[2]);
          text(cs, regular, 9, 410, y, r[3]);
          text(cs, regular, 9, 490, y, r[4]);
          y -= 14;
        }
        i++;
      } while (i < rows.size());
      y -= 10;
      text(cs, bold, 11, 330, y, "Total (USD)");
      text(cs, bold, 11, 490, y, InvoiceCalculator.usd(inv.totalMicros()));
      y -= 20;
      for (CreditNote cn : view.creditNotes()) {
        if (y < 60) {
          break;
        }
        text(cs, regular, 9, 50, y, "Credit note " + cn.number() + " (" + cn.reason() + ", " + instantOrEmpty(
            cn.createdAtMillis()) + "): -" + InvoiceCalculator.usd(cn.amountMicros()) + " USD");
        y -= 14;
      }
      cs.close();
      doc.save(out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static float header(PDPageContentStream cs, Invoice inv, PDType1Font regular, PDType1Font bold, float y)
      throws IOException {
    text(cs, bold, 18, 50, y, Invoice.DRAFT.equals(inv.status()) ? "DRAFT INVOICE" : "INVOICE " + inv.number());
    y -= 26;
    text(cs, regular, 10, 50, y, "Tenant: " + inv.tenantId());
    y -= 14;
    text(cs, regular, 10, 50, y, "Period: " + inv.month() + " (UTC)    Status: " + inv.status());
    y -= 14;
    if (inv.finalizedAtMillis() != 0) {
      text(cs, regular, 10, 50, y, "Finalized: " + instantOrEmpty(inv.finalizedAtMillis()));
      y -= 14;
    }
    if (inv.voidedAtMillis() != 0) {
      text(cs, regular, 10, 50, y, "VOID since " + instantOrEmpty(inv.voidedAtMillis()));
      y -= 14;
    }
    return y - 16;
  }

  private static void text(PDPageContentStream cs, PDType1Font font, float size, float x, float y, String s)
      throws IOException {
    cs.beginText();
    cs.setFont(font, size);
    cs.newLineAtOffset(x, y);
    cs.showText(printable(s == null ? "" : s));
    cs.endText();
  }

  /** WinAnsi can show printable ASCII; anything else becomes '?'. */
  private static String printable(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      sb.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return sb.toString();
  }

  private static String fit(String s, int max) {
    return s == null ? "" : s.length() <= max ? s : s.substring(0, max - 3) + "...";
  }

  private static String instantOrEmpty(long millis) {
    return millis == 0 ? "" : Instant.ofEpochMilli(millis).toString();
  }
}
