package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The containment settings, the launcher's arguments and what {@code required} does when a layer is missing. */
class SandboxContainmentSettingsTest {

  @Test
  void modesParseAndBadValuesSayWhatIsAllowed() {
    assertEquals(SandboxContainment.Mode.REQUIRED, SandboxContainment.Mode.parse(" Required "));
    var e = assertThrows(IllegalArgumentException.class, () -> SandboxContainment.Mode.parse("strict"));
    assertTrue(e.getMessage().contains("auto, required or off") && e.getMessage().contains("AIMOS_SANDBOX_CONTAINMENT"),
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new SandboxContainment.Settings(SandboxContainment.Mode.AUTO,
        0, 65534, Path.of("/tmp/c"), List.of(), 64), "root is no sandbox uid");
    assertThrows(IllegalArgumentException.class, () -> new SandboxContainment.Settings(SandboxContainment.Mode.AUTO,
        65534, 65534, Path.of("/tmp/c"), List.of("relative/path"), 64));
  }

  @Test
  void requiredRefusesToStartASandboxWhenALayerIsMissingAndSaysWhichAndHowToFix() {
    var settings = SandboxContainment.Settings.defaults(SandboxContainment.Mode.REQUIRED);
    var c = new SandboxContainment(settings, SandboxContainment.Kind.UTIL_LINUX, null, true,
        "aimos-jail cannot be used (gcc could not build it), so sandboxes lack a dedicated uid; install gcc");
    var e = assertThrows(IOException.class, () -> c.wrap(Path.of("/tmp/w"), "/usr/bin/java", "/a.jar", "echo-text",
        false, true, false));
    assertTrue(e.getMessage().contains("required") && e.getMessage().contains("install gcc"), e.getMessage());
    var auto = new SandboxContainment(SandboxContainment.Settings.defaults(SandboxContainment.Mode.AUTO),
        SandboxContainment.Kind.UTIL_LINUX, null, true, "missing layers");
    assertTrue(assertDoesNotThrow(() -> auto.wrap(Path.of("/tmp/w"), "/usr/bin/java", "/a.jar", "echo-text", false,
        true, false)).contains("--no-new-privs"));
  }

  /** The probe on a host where aimos-jail cannot be built: sandboxes still start, and a warning says what is lost. */
  @Test
  void whenTheJailCannotBeBuiltTheProbeFallsBackWithAWarningThatSaysHowToFix() throws IOException {
    Path notADir = Files.createTempFile("containment-cache", ".file");
    var settings = new SandboxContainment.Settings(SandboxContainment.Mode.AUTO, 65534, 65534, notADir, List.of(), 64);
    var logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(SandboxContainment.class);
    var appender = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    appender.start();
    logger.addAppender(appender);
    SandboxContainment c;
    SandboxContainment required;
    try {
      c = SandboxContainment.probe(settings);
      required = SandboxContainment.probe(new SandboxContainment.Settings(SandboxContainment.Mode.REQUIRED, 65534,
          65534, notADir, List.of(), 64));
    } finally {
      logger.detachAppender(appender);
      Files.deleteIfExists(notADir);
    }
    assertTrue(c.kind() != SandboxContainment.Kind.JAIL, c.describe());
    assertTrue(c.missing().contains("aimos-jail cannot be used") && c.missing().contains("apt-get install gcc"),
        c.missing());
    List<String> warnings = appender.list.stream()
        .filter(l -> l.getLevel() == ch.qos.logback.classic.Level.WARN).map(l -> l.getFormattedMessage()).toList();
    assertEquals(1, warnings.size(), appender.list.toString());
    assertTrue(warnings.get(0).startsWith("Sandbox containment (auto): aimos-jail cannot be used"), warnings.get(0));
    // auto still starts sandboxes, with what util-linux gives (or nothing)
    List<String> wrapper = assertDoesNotThrow(() -> c.wrap(Path.of("/tmp/w"), "/usr/bin/java", "/a.jar", "echo-text",
        false, true, false));
    assertEquals(c.kind() == SandboxContainment.Kind.UTIL_LINUX, wrapper.contains("--no-new-privs"), wrapper.toString());

    // required: the same host refuses to start a sandbox, with the same reason (logged as an error)
    var e = assertThrows(IOException.class, () -> required.wrap(Path.of("/tmp/w"), "/usr/bin/java", "/a.jar",
        "echo-text", false, true, false));
    assertTrue(e.getMessage().contains("required") && e.getMessage().contains("aimos-jail cannot be used"),
        e.getMessage());
    assertTrue(appender.list.stream().anyMatch(l -> l.getLevel() == ch.qos.logback.classic.Level.ERROR
        && l.getFormattedMessage().contains("required but aimos-jail cannot be used")), appender.list.toString());
  }

  @Test
  void theJailGetsTheUidTheNetworkAndAReadOnlyViewThatHidesTheWorkDirsParents() throws IOException {
    Path root = Files.createTempDirectory("containment-args");
    Path work = root.resolve("sandboxes/m/v1");
    Path jar = Files.createDirectories(root.resolve("lib")).resolve("a.jar");
    Files.writeString(jar, "jar");
    Path model = root.resolve("model.onnx");
    Files.writeString(model, "onnx");
    var settings = new SandboxContainment.Settings(SandboxContainment.Mode.REQUIRED, 61000, 61001,
        root.resolve("cache"), List.of(root.resolve("sandboxes").toString()), 32);
    var c = new SandboxContainment(settings, SandboxContainment.Kind.JAIL, Path.of("/opt/aimos-jail"), true, "");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> local = c.wrap(work, java, jar + ":" + root.resolve("missing.jar"), "onnx-image:" + model, false,
        true, false);
    String args = String.join(" ", local);
    assertEquals("/opt/aimos-jail", local.get(0));
    assertTrue(args.contains("--uid 61000 --gid 61001"), args);
    assertTrue(args.contains("--net none --seccomp local"), args);
    assertTrue(args.contains("--tmp-mb 32"), args);
    assertTrue(args.contains("--workdir " + work), args);
    assertTrue(args.contains("--ro " + jar), args);
    assertTrue(args.contains("--ro " + model), args);
    assertTrue(args.contains("--ro " + System.getProperty("java.home")) || args.contains("--ro /usr"), args);
    assertFalse(args.contains("missing.jar"), "absent entries are not shown");
    assertFalse(args.contains("--ro " + root.resolve("sandboxes") + " "), "a dir holding work dirs is not shown");
    assertEquals("--", local.get(local.size() - 1));
    String upstream = String.join(" ", c.wrap(work, java, jar.toString(), "openai:p/m", true, false, true));
    assertTrue(upstream.contains("--net relay --seccomp upstream"), upstream);
  }

  private static <T> T assertDoesNotThrow(org.junit.jupiter.api.function.ThrowingSupplier<T> s) {
    return org.junit.jupiter.api.Assertions.assertDoesNotThrow(s);
  }
}
