package aimos.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "invoices", description = "Invoices: list a tenant's, read, draft, finalize and void.",
    subcommands = {InvoicesCommand.List.class, InvoicesCommand.Get.class, InvoicesCommand.Draft.class,
        InvoicesCommand.Finalize.class, InvoicesCommand.Void.class})
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
      ObjectNode body = Management.JSON.createObjectNode();
      if (reason != null) {
        body.put("reason", reason);
      }
      print(management().post("/admin/invoices/" + enc(number) + "/void", body));
      return 0;
    }
  }
}
