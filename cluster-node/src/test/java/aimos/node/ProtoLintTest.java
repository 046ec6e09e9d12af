package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code buf lint} over every .proto with protobuf/buf.yaml (STANDARD rules, each exception explained there). buf is
 * {@code AIMOS_BUF}, protobuf/node_modules/.bin/buf or {@code buf} on the PATH; when none is there the test installs
 * it with {@code npm ci} in protobuf/ (the version pinned in its package-lock.json, about 10 MB, once). Only where npm
 * is missing or cannot reach its registry is the test skipped, saying so.
 */
class ProtoLintTest {
  private static final Path PROTOBUF = Path.of("..", "protobuf").toAbsolutePath().normalize();

  private static Optional<Path> buf() {
    Stream<Path> candidates = Stream.concat(
        Stream.of(System.getenv().getOrDefault("AIMOS_BUF", ""), PROTOBUF.resolve("node_modules/.bin/buf").toString())
            .filter(s -> !s.isEmpty()).map(Path::of),
        Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
            .filter(s -> !s.isEmpty()).map(d -> Path.of(d, "buf")));
    return candidates.filter(Files::isExecutable).findFirst();
  }

  /** Installs buf into protobuf/node_modules with npm; what went wrong when it could not. */
  private static String npmCi() throws Exception {
    try {
      Process p = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(PROTOBUF.toFile())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "npm ci did not finish within 5 minutes";
      }
      return p.exitValue() == 0 ? "" : "npm ci failed: " + out.strip();
    } catch (java.io.IOException e) {
      return "npm is not installed (" + e.getMessage() + ")";
    }
  }

  @Test
  void theProtosPassBufLint() throws Exception {
    Optional<Path> buf = buf();
    String why = "";
    if (buf.isEmpty()) {
      why = npmCi();
      buf = buf();
    }
    Assumptions.assumeTrue(buf.isPresent(), "buf is not installed and could not be (" + why + "): run `npm ci` in "
        + "protobuf/ or set AIMOS_BUF");
    Process p = new ProcessBuilder(buf.get().toString(), "lint").directory(PROTOBUF.toFile())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(true, p.waitFor(120, TimeUnit.SECONDS), "buf lint did not finish");
    assertEquals(0, p.exitValue(), "buf lint found problems (fix them, or explain an exception in "
        + "protobuf/buf.yaml):\n" + out);
  }
}
