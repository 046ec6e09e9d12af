package aimos.chaos.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretsTest {
  @TempDir
  Path dir;

  @Test
  void aSecretComesFromItsFileThenTheEnvironment() throws Exception {
    Path file = dir.resolve("token");
    Files.writeString(file, "adm_from_file\n");
    Map<String, String> env = Map.of("AIMOS_ADMIN_TOKEN", "adm_from_env");
    assertEquals("adm_from_file", Secrets.of(Map.of("admin-token-file", file.toString()), "admin-token",
        "AIMOS_ADMIN_TOKEN", env::get));
    assertEquals("adm_from_env", Secrets.of(Map.of(), "admin-token", "AIMOS_ADMIN_TOKEN", env::get));
    assertEquals("", Secrets.of(Map.of(), "admin-token", "AIMOS_ADMIN_TOKEN", name -> null));
    Files.writeString(file, "");
    var empty = assertThrows(IllegalArgumentException.class, () -> Secrets.of(
        Map.of("admin-token-file", file.toString()), "admin-token", "AIMOS_ADMIN_TOKEN", env::get));
    assertTrue(empty.getMessage().contains("is empty"));
  }

  @Test
  void secretsAreWrittenReadableByTheirOwnerOnly() throws Exception {
    Path file = dir.resolve("dev").resolve("credentials.env");
    Secrets.writePrivate(file, "AIMOS_API_KEY=k\n");
    Secrets.writePrivate(file, "AIMOS_API_KEY=k2\n");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("AIMOS_API_KEY=k2\n", Files.readString(file));
  }
}
