package aimos.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "ledger", description = {"A tenant's billing ledger, a page at a time, or --export the month whole.",
    "GET /admin/tenants/{id}/ledger and /ledger/export."})
final class LedgerCommand extends ApiCommand {
  enum Export { ndjson, csv }

  @Parameters(paramLabel = "TENANT", description = "the tenant's id")
  String tenant;

  @Option(names = "--month", paramLabel = "YYYY-MM", description = "the month (default: this month, UTC)")
  java.time.YearMonth month;

  @Option(names = "--cursor", paramLabel = "CURSOR", description = "the page after this cursor (nextCursor of a page)")
  String cursor;

  @Option(names = "--limit", paramLabel = "N", description = "rows on a page (the node's default: 100)")
  Integer limit;

  @Option(names = "--export", paramLabel = "FORMAT",
      description = "the whole month as ndjson or csv on stdout, instead of a page (-o does not apply)")
  Export export;

  @Override
  int run() {
    String base = "/admin/tenants/" + enc(tenant) + "/ledger";
    if (export != null) {
      if (cursor != null || limit != null) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--export writes the whole month: leave out --cursor and --limit");
      }
      out().print(management().raw(base + "/export" + query("month", month, "format", export)));
      out().flush();
      return 0;
    }
    print(management().get(base + query("month", month, "cursor", cursor, "limit", limit)));
    return 0;
  }
}
