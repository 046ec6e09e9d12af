package aimos.cli;

import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "audit", description = "The audit log.", subcommands = AuditCommand.Verify.class)
final class AuditCommand {

  @Command(name = "verify", description = {"Read the whole audit log (GET /admin/audit; secops) and check its hash "
      + "chain and Ed25519 signatures here: finds changed, removed, reordered and cut records.",
      "Exit status 0 intact, 1 tampered or could not check."})
  static final class Verify extends ApiCommand {
    @Option(names = "--public-key-file", paramLabel = "FILE",
        description = "the cluster's audit public key (PEM); without it the key the node reports is used, "
            + "which proves less")
    Path publicKeyFile;

    @Override
    boolean secops() {
      return true;
    }

    @Override
    int run() {
      Management m = management();
      try {
        return aimos.chaos.cli.AuditCommand.verify(m.address(), token(), m.tls(), Optional.ofNullable(publicKeyFile),
            out());
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new CliFailure("could not check the audit log: " + e.getMessage());
      }
    }
  }
}
