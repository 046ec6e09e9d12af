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
        if (output.format == Format.table) {
          return aimos.chaos.cli.AuditCommand.verify(m.address(), token(), m.tls(),
              Optional.ofNullable(publicKeyFile), out());
        }
        // json and yaml: the verdict alone on stdout, progress on stderr
        var verdict = aimos.chaos.cli.AuditCommand.check(m.address(), token(), m.tls(),
            Optional.ofNullable(publicKeyFile), err());
        com.fasterxml.jackson.databind.node.ObjectNode answer = Management.JSON.createObjectNode()
            .put("verdict", verdict.line());
        answer.setAll((com.fasterxml.jackson.databind.node.ObjectNode) Management.JSON.valueToTree(verdict));
        print(answer);
        return verdict.status();
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new CliFailure("could not check the audit log: " + e.getMessage());
      }
    }
  }
}
