package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.status.Status;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The node's logback.xml: text lines by default, one JSON object a line with AIMOS_LOG_FORMAT=json, text with a
 * warning for any other value; stdout holds nothing but log lines.
 */
class LogFormatTest {
  private static final String LOGGER = "aimos.logformat.probe";

  /** What the node's logging configuration printed for one INFO and one WARN with an exception. */
  private record Logged(List<String> stdout, String stderr, List<Status> warnings) {}

  private static Logged logWith(String format) throws Exception {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
    if (format != null) {
      context.putProperty("AIMOS_LOG_FORMAT", format);
    }
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      configurator.doConfigure(LogFormatTest.class.getResource("/logback.xml"));
      context.getLogger(LOGGER).info("request {} answered \"ok\"", "r-1");
      context.getLogger(LOGGER).warn("sandbox failed", new IllegalStateException("exit 137"));
    } finally {
      System.out.flush();
      System.setOut(stdout);
      System.setErr(stderr);
      context.stop();
    }
    List<Status> warnings = context.getStatusManager().getCopyOfStatusList().stream()
        .filter(s -> s.getEffectiveLevel() >= Status.WARN).toList();
    return new Logged(out.toString(StandardCharsets.UTF_8).lines().toList(), err.toString(StandardCharsets.UTF_8),
        warnings);
  }

  @Test
  void jsonFormatWritesOneJsonObjectALine() throws Exception {
    Logged logged = logWith("json");
    assertEquals(List.of(), logged.warnings());
    assertEquals(2, logged.stdout().size(), logged.stdout().toString());
    ObjectMapper json = new ObjectMapper();
    JsonNode info = json.readTree(logged.stdout().get(0));
    assertEquals("INFO", info.path("level").asText());
    assertEquals(LOGGER, info.path("loggerName").asText());
    assertEquals("request r-1 answered \"ok\"", info.path("formattedMessage").asText());
    assertTrue(info.path("timestamp").asLong() > 0, logged.stdout().get(0));
    JsonNode warn = json.readTree(logged.stdout().get(1));
    assertEquals("WARN", warn.path("level").asText());
    assertEquals("exit 137", warn.path("throwable").path("message").asText(), logged.stdout().get(1));
    assertEquals(IllegalStateException.class.getName(), warn.path("throwable").path("className").asText());
  }

  @Test
  void textIsTheDefault() throws Exception {
    Assumptions.assumeTrue(System.getenv("AIMOS_LOG_FORMAT") == null, "AIMOS_LOG_FORMAT is set in this environment");
    Logged logged = logWith(null);
    assertEquals(List.of(), logged.warnings());
    assertTrue(logged.stdout().get(0).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\S+ - request r-1 answered \"ok\""),
        logged.stdout().get(0));
    assertTrue(logged.stdout().stream().anyMatch(l -> l.contains("IllegalStateException: exit 137")), logged.stdout()
        .toString());
    assertEquals(strip(logged.stdout()), strip(logWith("text").stdout()));
    assertEquals(strip(logged.stdout()), strip(logWith("").stdout()));
  }

  @Test
  void anotherFormatLogsTextAndSaysSoOnStderr() throws Exception {
    Logged logged = logWith("xml");
    assertTrue(logged.stdout().get(0).endsWith(" - request r-1 answered \"ok\""), logged.stdout().toString());
    assertEquals(1, logged.warnings().size(), logged.warnings().toString());
    assertTrue(logged.stderr().contains("AIMOS_LOG_FORMAT must be text or json, was \"xml\""), logged.stderr());
  }

  private static List<String> strip(List<String> lines) {
    // without the time of day, and without the stack frames' line of this test
    return lines.stream().filter(l -> !l.startsWith("\tat ")).map(l -> l.matches("\\d\\d:.*") ? l.substring(12) : l)
        .toList();
  }
}
