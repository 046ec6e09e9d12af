package aimos.chaos.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

/**
 * Where the command-line tools take a secret (API key, admin or secops token) from, without it appearing in the
 * process list: {@code --NAME-file PATH} (the file's first line), else the environment variable. A value given on
 * the command line itself still works, with a warning, since any user of the machine can read it in {@code ps}.
 */
public final class Secrets {
  private Secrets() {}

  /** The secret named {@code option} ({@code "admin-token"}, say), or empty when none was given. */
  public static String of(Map<String, String> options, String option, String environmentVariable) {
    return of(options, option, environmentVariable, System::getenv);
  }

  static String of(Map<String, String> options, String option, String environmentVariable,
                   Function<String, String> env) {
    String file = options.get(option + "-file");
    if (file != null) {
      try {
        String value = Files.readString(Path.of(file), StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
        if (value.isEmpty()) {
          throw new IllegalArgumentException("--" + option + "-file " + file + " is empty");
        }
        return value;
      } catch (IOException e) {
        throw new IllegalArgumentException("--" + option + "-file " + file + " cannot be read: " + e.getMessage());
      }
    }
    String inline = options.get(option);
    if (inline != null) {
      System.err.println("warning: --" + option + " on the command line is visible to every user of this machine "
          + "(ps); use " + environmentVariable + " or --" + option + "-file instead");
      return inline;
    }
    String fromEnv = env.apply(environmentVariable);
    return fromEnv == null ? "" : fromEnv.strip();
  }

  /** Writes secrets to a file only its owner can read (0600), replacing it. */
  public static void writePrivate(Path file, String content) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
