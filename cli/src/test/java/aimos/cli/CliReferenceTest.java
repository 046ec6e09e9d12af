package aimos.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** docs/cli.md is what {@link CliReference} makes from the commands as they are. */
class CliReferenceTest {
  private static final Path FILE = Path.of("..", "docs", "cli.md");

  @Test
  void committedReferenceIsUpToDate() throws Exception {
    String generated = CliReference.generate();
    if (Boolean.getBoolean("aimos.cli.writeReference")) {
      Files.createDirectories(FILE.getParent());
      Files.writeString(FILE, generated, StandardCharsets.UTF_8);
    }
    assertTrue(Files.exists(FILE), "docs/cli.md is missing; " + HOW);
    assertEquals(generated, Files.readString(FILE, StandardCharsets.UTF_8),
        "docs/cli.md differs from the commands; " + HOW);
  }

  @Test
  void everyCommandHasASection() {
    String doc = CliReference.generate();
    for (String c : new String[] {"aimos tenants create", "aimos tenants list", "aimos tenants suspend",
        "aimos tenants resume", "aimos keys revoke", "aimos models add-version", "aimos models retire",
        "aimos usage", "aimos ledger", "aimos reconcile", "aimos tokens rotate", "aimos drills watch",
        "aimos completion", "aimos load", "aimos bench sandbox",
        "aimos tenants budget-alerts", "aimos tenants set-budget-alerts", "aimos tenants export", "aimos tenants erase",
        "aimos tenants sla", "aimos webhooks list", "aimos webhooks add", "aimos webhooks get", "aimos webhooks delete",
        "aimos webhooks disable", "aimos webhooks enable", "aimos webhooks rotate-secret", "aimos webhooks deliveries",
        "aimos invoices credit-notes", "aimos invoices credit-note", "aimos invoices close", "aimos prices list",
        "aimos prices add"}) {
      assertTrue(doc.contains("\n## " + c + "\n"), c);
    }
  }

  private static final String HOW = "regenerate it with 'mvn -B -o -q -pl cli -am test -Dtest=CliReferenceTest "
      + "-Dsurefire.failIfNoSpecifiedTests=false -Daimos.cli.writeReference=true' and commit it";
}
