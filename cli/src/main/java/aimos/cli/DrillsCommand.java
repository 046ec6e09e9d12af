package aimos.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "drills", description = "Drills that a node runs against its own cluster (/admin/chaos; secops).",
    subcommands = {DrillsCommand.Start.class, DrillsCommand.Status.class, DrillsCommand.Watch.class})
final class DrillsCommand {

  @Command(name = "start", description = {"Start a drill on the node (POST /admin/chaos/drills/{drill}).",
      "Prints the run's id; follow it with 'aimos drills watch ID'."})
  static final class Start extends ApiCommand {
    @Parameters(paramLabel = "DRILL", description = "the drill's name ('bin/aimos chaos list' lists them)")
    String drill;

    @Option(names = "--duration", paramLabel = "D", description = "load duration, for example 30s (default 30s)")
    String duration;

    @Option(names = "--rate", paramLabel = "N", description = "requests a second (default 50)")
    Integer rate;

    @Option(names = "--seed", paramLabel = "N", description = "seed of the traffic mix (default 1)")
    Integer seed;

    @Option(names = "--watch", description = "follow the run to its end as 'drills watch' does (exit status 1 when "
        + "it failed or its verdict is FAIL)")
    boolean watch;

    @Option(names = "--interval", paramLabel = "S", defaultValue = "PT2S", converter = Seconds.class,
        description = "with --watch: time between polls in seconds (default 2)")
    Duration interval;

    @Override
    boolean secops() {
      return true;
    }

    @Override
    int run() {
      if (duration != null && !duration.matches("[0-9]+(ms|s|m)?")) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "Invalid value for option '--duration': '"
            + duration + "' (write 30s, 500ms or 2m)");
      }
      Management m = management();
      JsonNode started = m.post("/admin/chaos/drills/" + enc(drill)
          + query("duration", duration, "rate", rate, "seed", seed), null);
      if (!watch) {
        print(started);
        return 0;
      }
      return follow(this, m, started.path("id").asText(), interval);
    }
  }

  @Command(name = "status", description = "A drill run's state and, when done, its report (GET /admin/chaos/runs/{id}).")
  static final class Status extends ApiCommand {
    @Parameters(paramLabel = "ID", description = "the run's id (drills start prints it)")
    String id;

    @Override
    boolean secops() {
      return true;
    }

    @Override
    int run() {
      print(management().get("/admin/chaos/runs/" + enc(id)));
      return 0;
    }
  }

  @Command(name = "watch", description = {"Follow a drill run until it ends, printing each change of state; then its "
      + "report.", "Exit status 0 when the run is done and passed, 1 when it failed or its verdict is FAIL."})
  static final class Watch extends ApiCommand {
    @Parameters(paramLabel = "ID", description = "the run's id (drills start prints it)")
    String id;

    @Option(names = "--interval", paramLabel = "S", defaultValue = "PT2S", converter = Seconds.class,
        description = "time between polls in seconds (default 2)")
    Duration interval;

    @Override
    boolean secops() {
      return true;
    }

    @Override
    int run() {
      return follow(this, management(), id, interval);
    }
  }

  /** Polls a run until it is done or failed, each change of state on stderr; then prints it. */
  static int follow(ApiCommand c, Management m, String id, Duration interval) {
    String last = null;
    long started = System.nanoTime();
    while (true) {
      JsonNode run = m.get("/admin/chaos/runs/" + ApiCommand.enc(id));
      String status = run.path("status").asText("unknown");
      if (!status.equals(last)) {
        c.err().printf("%s: %s (%d s)%n", id, status, Duration.ofNanos(System.nanoTime() - started).toSeconds());
        c.err().flush();
        last = status;
      }
      if (status.equals("done") || status.equals("failed")) {
        c.print(run);
        return status.equals("done") && !run.path("report").path("verdict").asText("PASS").equals("FAIL") ? 0 : 1;
      }
      try {
        Thread.sleep(interval.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CliFailure("interrupted; the drill goes on: 'aimos drills status " + id + "'");
      }
    }
  }

  static final class Seconds implements picocli.CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      if (value.equals("PT2S")) {
        return Duration.ofSeconds(2);
      }
      try {
        double s = Double.parseDouble(value);
        if (s >= 0.1 && s <= 3600) {
          return Duration.ofMillis((long) (s * 1000));
        }
      } catch (NumberFormatException ignored) {
        // reported below
      }
      throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a number of seconds from 0.1 "
          + "to 3600");
    }
  }
}
