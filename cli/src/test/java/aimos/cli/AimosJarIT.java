package aimos.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The packaged CLI is one jar that runs with {@code java -jar}: its manifest names its main class and libraries. */
class AimosJarIT {
  private static final Path JAR = Path.of("target", "aimos.jar");

  private record Result(int status, String out, String err) {}

  private static Result run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", JAR.toString()));
    command.addAll(List.of(args));
    Path out = Files.createTempFile("aimos-jar", ".out");
    Path err = Files.createTempFile("aimos-jar", ".err");
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      builder.environment().remove("AIMOS_ADMIN_TOKEN");
      Process p = builder.start();
      assertTrue(p.waitFor(2, TimeUnit.MINUTES), "the jar did not exit: " + command);
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  @Test
  void runsWithJavaJar() throws Exception {
    assertTrue(Files.isRegularFile(JAR), "package makes " + JAR.toAbsolutePath());
    Result version = run("version", "-o", "json");
    assertEquals(0, version.status(), version.toString());
    assertTrue(version.out().contains("\"version\""), version.toString());

    Result help = run("--help");
    assertEquals(0, help.status(), help.toString());
    assertTrue(help.out().contains("tenants") && help.out().contains("load"), help.toString());
  }

  @Test
  void itsLibrariesAreFound() throws Exception {
    // chaos list is rendered from the chaos module's drills, a library of the jar
    Result drills = run("chaos", "list", "-o", "json");
    assertEquals(0, drills.status(), drills.toString());
    assertTrue(drills.out().contains("node-kill"), drills.toString());

    Result usage = run("tenants", "--bogus");
    assertEquals(2, usage.status(), usage.toString());
  }
}
