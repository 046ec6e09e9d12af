package aimos.cli;

import picocli.CommandLine.Command;

@Command(name = "whoami", description = "The token's name and role (GET /admin/whoami).")
final class WhoamiCommand extends ApiCommand {
  @Override
  int run() {
    print(management().get("/admin/whoami"));
    return 0;
  }
}
