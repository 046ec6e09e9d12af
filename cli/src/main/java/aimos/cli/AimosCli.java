package aimos.cli;

import java.io.PrintWriter;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * {@code aimos}: the operator's command line. Admin commands call the management HTTP API; the tools (load, bench,
 * cluster, chaos) run in this process. Exit status 0 ok, 1 failure, 2 usage.
 */
@Command(name = "aimos", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    description = {"Run and operate AIMOS.", ""},
    synopsisSubcommandLabel = "COMMAND",
    commandListHeading = "%nCommands:%n",
    footerHeading = "%n",
    footer = {"Admin commands reach the management API at --management or $AIMOS_MANAGEMENT "
        + "(default 127.0.0.1:8558), over TLS trusting $AIMOS_TLS_CA_FILE, else the local CA in $AIMOS_TLS_DIR "
        + "when it exists, else in plaintext (always with AIMOS_DEV_PLAINTEXT=1).",
        "The token comes from $AIMOS_ADMIN_TOKEN or --token-file FILE (secops commands: $AIMOS_SECOPS_TOKEN first), "
            + "never from the command line.",
        "Exit status: 0 ok, 1 failure (refused, not found, unreachable), 2 usage (unknown command or option, "
            + "bad value).",
        "bin/aimos also has 'build' (mvn -B -DskipTests install)."},
    subcommands = {TenantsCommand.class, KeysCommand.class, ModelsCommand.class, UsageCommand.class,
        LedgerCommand.class, InvoicesCommand.class, WebhooksCommand.class, PricesCommand.class,
        SandboxesCommand.class, FaultsCommand.class,
        DrillsCommand.class, ReconcileCommand.class, TokensCommand.class, AuditCommand.class, WhoamiCommand.class,
        ToolCommands.Load.class, ToolCommands.Bench.class, ToolCommands.Cluster.class, ToolCommands.Chaos.class,
        ToolCommands.Dev.class, ToolCommands.Node.class, VersionCommand.class, CompletionCommand.class,
        CommandLine.HelpCommand.class})
public final class AimosCli implements Runnable {
  /** Options that would put a secret on the command line: refused with a pointer to where secrets go. */
  private static final Set<String> SECRET_OPTIONS = Set.of("--token", "--admin-token", "--secops-token",
      "--api-key");

  private final Map<String, String> env;

  @Spec
  CommandSpec spec;

  public AimosCli(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  Map<String, String> env() {
    return env;
  }

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing command");
  }

  public static void main(String[] args) {
    System.exit(execute(args, System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs one command line with {@code env} as its environment; answers the exit status. */
  public static int execute(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
    return commandLine(env, out, err).execute(args);
  }

  /** The command line, its output and errors going to {@code out} and {@code err}. */
  public static CommandLine commandLine(Map<String, String> env, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new AimosCli(env));
    cl.setOut(out);
    cl.setErr(err);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.registerConverter(java.time.YearMonth.class, v -> {
      try {
        return java.time.YearMonth.parse(v);
      } catch (java.time.format.DateTimeParseException e) {
        throw new CommandLine.TypeConversionException("'" + v + "' is not a month (write YYYY-MM, for example 2026-12)");
      }
    });
    cl.registerConverter(java.time.LocalDate.class, v -> {
      try {
        return java.time.LocalDate.parse(v);
      } catch (java.time.format.DateTimeParseException e) {
        throw new CommandLine.TypeConversionException("'" + v + "' is not a day (write YYYY-MM-DD, for example "
            + "2026-12-07)");
      }
    });
    withHelp(cl);
    for (String bench : new String[] {"sandbox", "runtimes", "freshness"}) {
      cl.getSubcommands().get("bench").getSubcommands().get(bench).setUnmatchedOptionsArePositionalParams(true);
    }
    cl.setParameterExceptionHandler(AimosCli::usageError);
    cl.setExecutionExceptionHandler((e, line, parsed) -> {
      if (e instanceof ParameterException p) {
        return usageError(p, new String[0]);
      }
      PrintWriter w = line.getErr();
      if (e instanceof CliFailure) {
        w.println("error: " + e.getMessage());
      } else {
        w.println("error: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
            + " (" + e.getClass().getName() + "); run again, and report it if it persists");
      }
      w.flush();
      return 1;
    });
    return cl;
  }

  /** --help (and -h) on every command but the tools, which take their own --help. */
  private static void withHelp(CommandLine c) {
    if (c.getParent() != null && !(c.getCommand() instanceof ToolCommands.Tool)
        && !(c.getCommand() instanceof CommandLine.HelpCommand)) {
      CommandLine.Model.CommandSpec spec = c.getCommandSpec();
      // a command's own --version (models add-version) is kept: only the mixin's version help goes
      CommandLine.Model.OptionSpec own = spec.findOption("--version");
      if (own != null) {
        spec.remove(own);
      }
      spec.mixinStandardHelpOptions(true);
      spec.options().stream().filter(CommandLine.Model.OptionSpec::versionHelp).toList().forEach(spec::remove);
      if (own != null) {
        spec.addOption(own);
      }
    }
    c.getSubcommands().values().forEach(AimosCli::withHelp);
  }

  /** A usage error: what was wrong, a suggestion when there is one, and where the command's help is. Status 2. */
  static int usageError(ParameterException e, String[] args) {
    CommandLine line = e.getCommandLine();
    PrintWriter w = line.getErr();
    String secret = null;
    if (e instanceof UnmatchedArgumentException u) {
      for (String a : u.getUnmatched()) {
        String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
        if (SECRET_OPTIONS.contains(name)) {
          secret = name;
        }
      }
    }
    if (secret != null) {
      w.println("error: " + secret + " is not taken: a secret on the command line is visible to every user of the "
          + "machine (ps). Set AIMOS_ADMIN_TOKEN (AIMOS_SECOPS_TOKEN for secops commands) or use --token-file FILE.");
    } else {
      String m = String.valueOf(e.getMessage());
      w.println("error: " + (m.startsWith("Error: ") ? m.substring(7) : m));
      UnmatchedArgumentException.printSuggestions(e, w);
      if (m.startsWith("Missing required subcommand")) {
        line.usage(w);
      }
    }
    w.println("Try '" + line.getCommandSpec().qualifiedName() + " --help' for more information.");
    w.flush();
    return line.getCommandSpec().exitCodeOnInvalidInput();
  }
}
