package aimos.cli;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "usage", description = {"A tenant's usage from the rollups: the month's totals, or --daily or --hourly.",
    "GET /admin/tenants/{id}/usage, /usage/daily, /usage/hourly."})
final class UsageCommand extends ApiCommand {
  @Parameters(paramLabel = "TENANT", description = "the tenant's id")
  String tenant;

  @Option(names = "--month", paramLabel = "YYYY-MM", description = "the month (default: this month, UTC)")
  java.time.YearMonth month;

  @ArgGroup(exclusive = true)
  By by;

  static final class By {
    @Option(names = "--daily", required = true, description = "one row a day of the month")
    boolean daily;

    @Option(names = "--hourly", required = true, description = "one row an hour of --day")
    boolean hourly;
  }

  @Option(names = "--day", paramLabel = "YYYY-MM-DD", description = "with --hourly: the day (default: today, UTC)")
  java.time.LocalDate day;

  @Override
  int run() {
    boolean hourly = by != null && by.hourly;
    boolean daily = by != null && by.daily;
    if (day != null && !hourly) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--day goes with --hourly");
    }
    if (hourly && month != null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--hourly takes --day, not --month");
    }
    String base = "/admin/tenants/" + enc(tenant) + "/usage";
    String path = hourly ? base + "/hourly" + query("day", day)
        : (daily ? base + "/daily" : base) + query("month", month);
    print(management().get(path));
    return 0;
  }
}
