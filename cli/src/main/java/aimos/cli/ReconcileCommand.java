package aimos.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "reconcile", description = "Compare each tenant's journal with the billing ledger and repair missing "
    + "rows (POST /admin/reconciliation).")
final class ReconcileCommand extends ApiCommand {
  @Option(names = "--tenant", paramLabel = "TENANT", description = "only this tenant (default: every tenant)")
  String tenant;

  @Option(names = "--dry-run", description = "report only; repair nothing")
  boolean dryRun;

  @Override
  int run() {
    print(management().post("/admin/reconciliation" + query("tenant", tenant, "repair", !dryRun), null));
    return 0;
  }
}
