package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusUtil;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The node's logback.xml: text lines by default, one JSON object a line with AIMOS_LOG_FORMAT=json. */
class LogFormatTest {
  private static final String LOGGER = "aimos.logformat.probe";

  /** The lines the node's logging configuration prints for one INFO and one WARN with an exception. */
  private static List<String> linesWith(String format) throws Exception {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
    if (format != null) {
      context.putProperty("AIMOS_LOG_FORMAT", format);
    }
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      configurator.doConfigure(LogFormatTest.class.getResource("/logback.xml"));
      assertTrue(new StatusUtil(context).getHighestLevel(0) < Status.WARN,
          "logback reported problems: " + context.getStatusManager().getCopyOfStatusList());
      context.getLogger(LOGGER).info("request {} answered \"ok\"", "r-1");
      context.getLogger(LOGGER).warn("sandbox failed", new IllegalStateException("exit 137"));
      assertTrue(new StatusUtil(context).getHighestLevel(0) < Status.WARN,
          "logback reported problems: " + context.getStatusManager().getCopyOfStatusList());
    } finally {
      System.out.flush();
      System.setOut(stdout);
      context.stop();
    }
    return captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("logformat")).toList();
  }

  @Test
  void jsonFormatWritesOneJsonObjectALine() throws Exception {
    List<String> lines = linesWith("json");
    assertEquals(2, lines.size(), lines.toString());
    ObjectMapper json = new ObjectMapper();
    JsonNode info = json.readTree(lines.get(0));
    assertEquals("INFO", info.path("level").asText());
    assertEquals(LOGGER, info.path("loggerName").asText());
    assertEquals("request r-1 answered \"ok\"", info.path("formattedMessage").asText());
    assertTrue(info.path("timestamp").asLong() > 0, lines.get(0));
    JsonNode warn = json.readTree(lines.get(1));
    assertEquals("WARN", warn.path("level").asText());
    assertEquals("exit 137", warn.path("throwable").path("message").asText(), lines.get(1));
  }

  @Test
  void textIsTheDefault() throws Exception {
    Assumptions.assumeTrue(System.getenv("AIMOS_LOG_FORMAT") == null, "AIMOS_LOG_FORMAT is set in this environment");
    List<String> lines = linesWith(null);
    assertFalse(lines.isEmpty());
    assertTrue(lines.get(0).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\S+ - request r-1 answered \"ok\""),
        lines.get(0));
    assertEquals(lines.stream().map(l -> l.substring(12)).toList(),
        linesWith("text").stream().map(l -> l.substring(12)).toList());
  }
}
