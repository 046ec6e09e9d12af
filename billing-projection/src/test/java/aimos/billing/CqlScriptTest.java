package aimos.billing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CqlScriptTest {
  @Test
  void fillsEveryPlaceholderDropsCommentsAndSplitsStatements() {
    String ddl = """
        -- a comment with a ; and ${unset}
        CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replication};

        CREATE TABLE IF NOT EXISTS ${ks}.t (
          id text PRIMARY KEY -- not a comment line: kept
        );
        """;
    assertEquals(List.of(
        "CREATE KEYSPACE IF NOT EXISTS k1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE IF NOT EXISTS k1.t (\n  id text PRIMARY KEY -- not a comment line: kept\n)"),
        CqlScript.statements(ddl, Map.of("ks", "k1",
            "replication", "{'class': 'SimpleStrategy', 'replication_factor': 1}")));
  }

  @Test
  void aPlaceholderWithoutValueIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CqlScript.statements("CREATE TABLE ${ks}.t (id text PRIMARY KEY);", Map.of("other", "x")));
    assertEquals("no value for ${ks} in the DDL", e.getMessage());
  }

  @Test
  void theModulesDdlFilesFillTheirKeyspace() {
    List<String> ledger = CqlScript.statements("/aimos/billing/ledger.cql", "b1");
    assertEquals("CREATE KEYSPACE IF NOT EXISTS b1", ledger.get(0).lines().findFirst().orElseThrow());
    assertEquals(5, ledger.size());
    assertThrows(IllegalArgumentException.class, () -> CqlScript.statements("/aimos/billing/ledger.cql", "b1; DROP"));
  }
}
