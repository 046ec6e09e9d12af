package aimos.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "invoices", description = {"Invoices: list a tenant's, read, draft, finalize and void; credit notes;",
    "run the automatic close now."},
    subcommands = {InvoicesCommand.List.class, InvoicesCommand.Get.class, InvoicesCommand.Draft.class,
        InvoicesCommand.Finalize.class, InvoicesCommand.Void.class, InvoicesCommand.CreditNotes.class,
        InvoicesCommand.CreditNote.class, InvoicesCommand.Close.class})
final class InvoicesCommand {

  @Command(name = "list", description = "A tenant's invoices (GET /admin/tenants/{id}/invoices).")
  static final class List extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String tenant;

    @Override
    int run() {
      print(management().get("/admin/tenants/" + enc(tenant) + "/invoices?format=json"));
      return 0;
    }
  }

  @Command(name = "get", description = "One invoice (GET /admin/invoices/{number}).")
  static final class Get extends ApiCommand {
    @Parameters(paramLabel = "NUMBER", description = "the invoice's number")
    String number;

    @Override
    int run() {
      print(management().get("/admin/invoices/" + enc(number) + "?format=json"));
      return 0;
    }
  }

  @Command(name = "draft", description = "Draft (or redraft) a tenant's invoice of a month "
      + "(POST /admin/tenants/{id}/invoices/{month}/draft).")
  static final class Draft extends ApiCommand {
    @Parameters(index = "0", paramLabel = "TENANT", description = "the tenant's id")
    String tenant;

    @Parameters(index = "1", paramLabel = "YYYY-MM", description = "the month")
    java.time.YearMonth month;

    @Override
    int run() {
      print(management().post("/admin/tenants/" + enc(tenant) + "/invoices/" + month + "/draft", null));
      return 0;
    }
  }

  @Command(name = "finalize", description = "Finalize a draft (POST /admin/invoices/{number}/finalize).")
  static final class Finalize extends ApiCommand {
    @Parameters(paramLabel = "NUMBER", description = "the invoice's number")
    String number;

    @Option(names = "--early", description = "before the month's grace period has passed")
    boolean early;

    @Override
    int run() {
      print(management().post("/admin/invoices/" + enc(number) + "/finalize" + query("early", early ? "true" : null),
          null));
      return 0;
    }
  }

  @Command(name = "void", description = "Void an invoice (POST /admin/invoices/{number}/void).")
  static final class Void extends ApiCommand {
    @Parameters(paramLabel = "NUMBER", description = "the invoice's number")
    String number;

    @Option(names = "--reason", paramLabel = "TEXT", description = "why, kept with the invoice")
    String reason;

    @Override
    int run() {
      print(management().post("/admin/invoices/" + enc(number) + "/void", bodyWith("reason", reason)));
      return 0;
    }
  }

  @Command(name = "credit-notes", description = "An invoice's credit notes (GET /admin/invoices/{number}/credit-notes).")
  static final class CreditNotes extends ApiCommand {
    @Parameters(paramLabel = "NUMBER", description = "the invoice's number")
    String number;

    @Override
    int run() {
      print(management().get("/admin/invoices/" + enc(number) + "/credit-notes?format=json"));
      return 0;
    }
  }

  enum CreditReason { sla, adjustment, dispute }

  @Command(name = "credit-note", description = {
      "Issue a credit note against a finalized invoice (POST /admin/invoices/{number}/credit-notes)."})
  static final class CreditNote extends ApiCommand {
    @Parameters(paramLabel = "NUMBER", description = "the invoice's number")
    String number;

    @Option(names = "--amount-usd", paramLabel = "USD", required = true, converter = TenantsCommand.Usd.class,
        description = "the credit in US dollars, for example 1.50")
    String amountUsd;

    @Option(names = "--reason", paramLabel = "REASON", required = true,
        description = "sla, adjustment or dispute")
    CreditReason reason;

    @Option(names = "--note", paramLabel = "TEXT", description = "a note kept with the credit note")
    String note;

    @Override
    int run() {
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("amountUsd", amountUsd);
      body.put("reason", reason.name());
      if (note != null) {
        body.put("note", note);
      }
      print(management().post("/admin/invoices/" + enc(number) + "/credit-notes", body));
      return 0;
    }
  }

  @Command(name = "close", description = {"Run the automatic invoice close now (POST /admin/invoices/close).",
      "Answers what it did: closedMonths, invoiced, finalized, awaiting, one attempt per month tried, voided."})
  static final class Close extends ApiCommand {
    @Override
    int run() {
      print(management().post("/admin/invoices/close", null));
      return 0;
    }
  }
}
