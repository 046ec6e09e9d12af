package aimos.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;

/**
 * docs/cli.md, made from the commands themselves: a section per command with its help. {@code CliReferenceTest}
 * fails when the committed file differs from what this makes.
 */
public final class CliReference {
  private CliReference() {}

  static final String HEADER = """
      # aimos command line reference

      Generated from the commands by `aimos.cli.CliReference`; do not edit by hand. Regenerate with
      `mvn -B -o -q -pl cli -am test -Dtest=CliReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Daimos.cli.writeReference=true`.

      `bin/aimos COMMAND ...` builds what is missing (saying so on stderr), then runs the command; `dev`, `node` and
      `bench history` start node processes, everything else runs in the CLI.

      - **Management API**: `--management HOST:PORT` (or an `http(s)://` URL), else `AIMOS_MANAGEMENT`, else
        `127.0.0.1:8558`. TLS trusting `AIMOS_TLS_CA_FILE` when set; else plaintext when `AIMOS_DEV_PLAINTEXT=1`;
        else the local CA `$AIMOS_TLS_DIR/ca.crt` when it exists; else plaintext.
      - **Token**: `--token-file FILE` (its first line), else `AIMOS_ADMIN_TOKEN`; the secops commands (`faults`,
        `drills`, `audit verify`) take `AIMOS_SECOPS_TOKEN` first. A token is never taken from the command line
        (`--token` and the like are refused: any user of the machine can read arguments in `ps`).
      - **Output**: `-o table` (default), `-o json` or `-o yaml` on every command that prints an answer.
      - **Exit status**: `0` ok; `1` failure (the API refused or did not find it, the node is unreachable, a drill
        failed), with one line on stderr saying what to do next; `2` usage (unknown command or option, bad or
        missing value), with a hint and `Try 'aimos ... --help'`.
      - **Completion**: `source <(bin/aimos completion)`.
      """;

  /** The whole document. */
  public static String generate() {
    CommandLine root = AimosCli.commandLine(Map.of(), new PrintWriter(new StringWriter()),
        new PrintWriter(new StringWriter()));
    StringBuilder b = new StringBuilder(HEADER);
    b.append("\n## Commands\n\n");
    index(b, root, "");
    section(b, root);
    return b.toString();
  }

  private static void index(StringBuilder b, CommandLine c, String indent) {
    for (CommandLine sub : c.getSubcommands().values()) {
      if (sub.getCommand() instanceof CommandLine.HelpCommand) {
        continue;
      }
      String name = sub.getCommandSpec().qualifiedName();
      b.append(indent).append("- [`").append(name).append("`](#").append(anchor(name)).append(")\n");
      index(b, sub, indent + "  ");
    }
  }

  private static String anchor(String name) {
    return name.toLowerCase(java.util.Locale.ROOT).replace(' ', '-');
  }

  private static void section(StringBuilder b, CommandLine c) {
    if (c.getCommand() instanceof CommandLine.HelpCommand) {
      return;
    }
    b.append("\n## ").append(c.getCommandSpec().qualifiedName()).append("\n\n```\n");
    b.append(c.getUsageMessage(CommandLine.Help.Ansi.OFF).stripTrailing()).append("\n```\n");
    c.getSubcommands().values().forEach(sub -> section(b, sub));
  }

  /** Writes the document to {@code args[0]} (default docs/cli.md). */
  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "docs/cli.md");
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, generate(), StandardCharsets.UTF_8);
    System.out.println("wrote " + out);
  }
}
