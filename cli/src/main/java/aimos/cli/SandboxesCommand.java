package aimos.cli;

import picocli.CommandLine.Command;

@Command(name = "sandboxes", description = "Every node's sandboxes and their state (GET /admin/sandboxes).")
final class SandboxesCommand extends ApiCommand {
  @Override
  int run() {
    print(management().get("/admin/sandboxes"));
    return 0;
  }
}
