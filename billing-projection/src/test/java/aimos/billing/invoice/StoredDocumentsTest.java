package aimos.billing.invoice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Stored invoice and credit-note documents decode as written by schema 1, also with fields added later. */
class StoredDocumentsTest {
  private static final String INVOICE_V1 = "{\"schema\":1,\"id\":\"AIMOS-2026-000007\",\"number\":\"AIMOS-2026-000007\","
      + "\"status\":\"finalized\",\"tenantId\":\"acme\",\"month\":\"2026-11\",\"currency\":\"USD\",\"lines\":[{\"kind\":"
      + "\"usage\",\"description\":\"chat v1 (1k_tokens)\",\"model\":\"chat\",\"version\":\"v1\",\"unit\":\"1k_tokens\","
      + "\"quantity\":\"1.500\",\"unitPriceMicros\":20000,\"units\":1500,\"requests\":2,\"amountMicros\":30000}],"
      + "\"usageMicros\":30000,\"discountMicros\":0,\"slaCreditMicros\":0,\"totalMicros\":30000,\"requests\":2,"
      + "\"draftRevision\":\"r1\",\"computedAtMillis\":1764500000000,\"finalizedAtMillis\":1764600000000,"
      + "\"voidedAtMillis\":0,\"voidReason\":null}";

  @Test
  void invoicesOfSchemaOneDecodeAlsoWithUnknownFields() {
    Invoice inv = InvoiceStore.read(INVOICE_V1, Invoice.class);
    assertEquals("AIMOS-2026-000007", inv.number());
    assertEquals(30000, inv.totalMicros());
    assertEquals(1, inv.lines().size());
    assertEquals("1.500", inv.lines().get(0).quantity());
    Invoice later = InvoiceStore.read(INVOICE_V1.replace("{\"schema\":1,", "{\"schema\":2,\"purchaseOrder\":\"PO-9\",")
        .replace("\"requests\":2,\"amountMicros\"", "\"requests\":2,\"taxCode\":\"X\",\"amountMicros\""), Invoice.class);
    assertEquals(inv.totalMicros(), later.totalMicros());
    assertEquals(inv.lines(), later.lines());
    // a document written without the optional fields
    Invoice sparse = InvoiceStore.read("{\"schema\":1,\"id\":\"DRAFT-acme-2026-11\",\"status\":\"draft\","
        + "\"tenantId\":\"acme\",\"month\":\"2026-11\",\"totalMicros\":0}", Invoice.class);
    assertEquals(List.of(), sparse.lines());
    assertNull(sparse.number());
    assertEquals(InvoiceStore.read(InvoiceStore.write(inv), Invoice.class), inv);
  }

  @Test
  void creditNotesOfSchemaOneDecode() {
    CreditNote cn = InvoiceStore.read("{\"schema\":1,\"number\":\"AIMOS-CN-2026-000001\",\"invoiceNumber\":"
        + "\"AIMOS-2026-000007\",\"tenantId\":\"acme\",\"month\":\"2026-11\",\"reason\":\"sla\",\"note\":null,"
        + "\"amountMicros\":1500,\"createdAtMillis\":1764700000000,\"approvedBy\":\"later field\"}", CreditNote.class);
    assertEquals(1500, cn.amountMicros());
    assertEquals("sla", cn.reason());
  }
}
