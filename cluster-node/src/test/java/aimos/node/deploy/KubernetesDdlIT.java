package aimos.node.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.cassandra.SharedCassandra;
import aimos.node.TestCluster;
import aimos.node.schema.ApplyDdl;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.ColumnDefinition;
import com.datastax.oss.driver.api.core.cql.Row;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed DDL ({@code k8s/ddl}, what the aimos-ddl Job applies) makes exactly the schema a node makes itself
 * with {@code aimos.create-tables = on}: same tables, same columns and types, same key order and same table options
 * (compaction, TTLs, gc grace), read back from {@code system_schema}. So the files cannot drift from the code.
 */
class KubernetesDdlIT {
  private static final List<String> KINDS = List.of("journal", "snapshot", "offsets", "billing");
  private static TestCluster cluster;
  private static CqlSession cql;
  private static String nodePrefix;
  private static final String ddlPrefix = "ddl" + ProcessHandle.current().pid();

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1);
    String billing = cluster.billingKeyspace();
    nodePrefix = billing.substring(0, billing.length() - "billing".length());
    cql = CqlSession.builder()
        .addContactPoint(new InetSocketAddress("127.0.0.1", SharedCassandra.port()))
        .withLocalDatacenter("datacenter1").build();
  }

  @AfterAll
  static void stop() {
    if (cql != null) {
      cql.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private static Map<String, String> values(String prefix) {
    return Map.of("journal_keyspace", prefix + "journal", "snapshot_keyspace", prefix + "snapshot",
        "offsets_keyspace", prefix + "offsets", "billing_keyspace", prefix + "billing",
        "replication", ApplyDdl.DEFAULT_REPLICATION);
  }

  @Test
  void committedDdlMakesTheSchemaTheNodeMakes() {
    // as the Job runs it: the node's configuration with the keyspace names, Cassandra from the driver's settings
    var config = aimos.node.NodeConfig.load(com.typesafe.config.ConfigFactory.parseString("""
        pekko.persistence.cassandra.journal.keyspace = %1$sjournal
        pekko.persistence.cassandra.snapshot.keyspace = %1$ssnapshot
        pekko.projection.cassandra.offset-store.keyspace = %1$soffsets
        aimos.billing.keyspace = %1$sbilling
        datastax-java-driver.basic.contact-points = ["%2$s"]
        """.formatted(ddlPrefix, SharedCassandra.contactPoint())));
    int statements = ApplyDdl.run(config, Map.of());
    assertEquals(ApplyDdl.statements(values(ddlPrefix)).size(), statements);
    // idempotent: a second run (a re-run Job, the next upgrade) changes nothing and fails nothing
    Map<String, Object> once = schema(ddlPrefix);
    ApplyDdl.run(config, Map.of());
    assertEquals(once, schema(ddlPrefix), "applying the DDL twice");

    // the node creates the journal and snapshot tables when its journal and snapshot store first start
    Set<String> expectedTables = tables(ddlPrefix);
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe.create(cluster.nodes.get(0).system())
        .awaitAssert(Duration.ofSeconds(90), Duration.ofMillis(250), () -> {
          assertTrue(tables(nodePrefix).containsAll(expectedTables), "node's tables so far: " + tables(nodePrefix));
          return null;
        });
    assertEquals(expectedTables, tables(nodePrefix), "tables the node created vs tables in k8s/ddl");
    assertEquals(schema(nodePrefix), schema(ddlPrefix), "schema the node created vs k8s/ddl");
    assertTrue(expectedTables.size() >= 23, "every keyspace's tables compared: " + expectedTables);
  }

  @Test
  void everyDdlFileIsAppliedInOrderAndNoneIsLeftOut() throws Exception {
    try (var files = Files.list(Path.of("..", "k8s", "ddl"))) {
      assertEquals(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cql")).sorted().toList(),
          ApplyDdl.FILES);
    }
    for (String f : ApplyDdl.FILES) {
      assertEquals(Files.readString(Path.of("..", "k8s", "ddl", f)), ApplyDdl.text(f), f + " as packaged");
    }
  }

  @Test
  void badReplicationOrMissingValueIsRefusedBeforeAnyStatement() {
    var config = com.typesafe.config.ConfigFactory.parseString("""
        pekko.persistence.cassandra.journal.keyspace = j
        pekko.persistence.cassandra.snapshot.keyspace = s
        pekko.projection.cassandra.offset-store.keyspace = o
        aimos.billing.keyspace = b
        """);
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ApplyDdl.values(config,
        Map.of("AIMOS_DDL_REPLICATION", "{'class': 'SimpleStrategy', 'replication_factor': 1}; DROP KEYSPACE b")));
    assertTrue(bad.getMessage().startsWith("AIMOS_DDL_REPLICATION must be a CQL replication map"), bad.getMessage());
    assertEquals("{'class': 'NetworkTopologyStrategy', 'dc1': 3}", ApplyDdl.values(config,
        Map.of("AIMOS_DDL_REPLICATION", "{'class': 'NetworkTopologyStrategy', 'dc1': 3}")).get("replication"));
    Map<String, String> partial = new java.util.HashMap<>(values("x"));
    partial.remove("offsets_keyspace");
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> ApplyDdl.statements(partial));
    assertEquals("no value for ${offsets_keyspace} in the DDL", missing.getMessage());
  }

  private static Set<String> tables(String prefix) {
    Set<String> t = new TreeSet<>();
    for (String kind : KINDS) {
      for (Row r : cql.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
          prefix + kind)) {
        t.add(kind + "." + r.getString("table_name"));
      }
    }
    return t;
  }

  /** Keyspaces' replication, tables' options and columns, by keyspace kind and table name (ids left out). */
  private static Map<String, Object> schema(String prefix) {
    Map<String, Object> s = new TreeMap<>();
    for (String kind : KINDS) {
      String ks = prefix + kind;
      s.put(kind, cells(cql.execute("SELECT replication, durable_writes FROM system_schema.keyspaces "
          + "WHERE keyspace_name = ?", ks).one()));
      for (Row t : cql.execute("SELECT * FROM system_schema.tables WHERE keyspace_name = ?", ks)) {
        Map<String, String> options = cells(t);
        options.remove("keyspace_name");
        options.remove("id");
        s.put(kind + "." + t.getString("table_name"), options);
      }
      for (Row c : cql.execute("SELECT table_name, column_name, clustering_order, kind, position, type "
          + "FROM system_schema.columns WHERE keyspace_name = ?", ks)) {
        s.put(kind + "." + c.getString("table_name") + "." + c.getString("column_name"),
            cells(c).entrySet().stream().filter(e -> !e.getKey().equals("table_name"))
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", ")));
      }
    }
    return s;
  }

  private static Map<String, String> cells(Row row) {
    Map<String, String> m = new TreeMap<>();
    if (row == null) {
      return m;
    }
    for (ColumnDefinition d : row.getColumnDefinitions()) {
      Object v = row.getObject(d.getName());
      m.put(d.getName().asInternal(), String.valueOf(v));
    }
    return m;
  }
}
