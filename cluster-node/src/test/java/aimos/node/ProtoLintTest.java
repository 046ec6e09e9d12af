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
 * {@code buf lint} over every .proto with protobuf/buf.yaml (STANDARD rules, each exception explained there). It
 * runs where buf is installed: {@code AIMOS_BUF}, protobuf/node_modules/.bin/buf ({@code cd protobuf && npm ci}) or
 * {@code buf} on the PATH; elsewhere it is skipped and says so.
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

  @Test
  void theProtosPassBufLint() throws Exception {
    Optional<Path> buf = buf();
    Assumptions.assumeTrue(buf.isPresent(), "buf is not installed: run `npm ci` in protobuf/ (or set AIMOS_BUF)");
    Process p = new ProcessBuilder(buf.get().toString(), "lint").directory(PROTOBUF.toFile())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(true, p.waitFor(120, TimeUnit.SECONDS), "buf lint did not finish");
    assertEquals(0, p.exitValue(), "buf lint found problems (fix them, or explain an exception in "
        + "protobuf/buf.yaml):\n" + out);
  }
}
