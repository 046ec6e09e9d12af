package aimos.node.schema;

import aimos.billing.CqlScript;
import aimos.node.NodeConfig;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.internal.core.config.typesafe.DefaultDriverConfigLoader;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Applies the production DDL ({@code k8s/ddl/*.cql}, packaged as {@code /aimos/ddl/} in the node's jar) in file
 * order: the keyspaces and tables of the journal, snapshots, projection offsets, billing, privacy keys and audit log.
 * Every statement is {@code IF NOT EXISTS}, so running it again (a re-run Job, an upgrade) changes nothing that
 * exists. Keyspace names come from the node's own configuration and environment ({@code AIMOS_JOURNAL_KEYSPACE},
 * {@code AIMOS_SNAPSHOT_KEYSPACE}, {@code AIMOS_OFFSETS_KEYSPACE}, {@code AIMOS_BILLING_KEYSPACE}), Cassandra's address
 * and credentials as the node's ({@code AIMOS_CASSANDRA_*}), the keyspaces' replication from
 * {@code AIMOS_DDL_REPLICATION}.
 *
 * <p>{@code --print} writes the filled-in statements to standard output instead (for cqlsh) and connects to nothing.
 */
public final class ApplyDdl {
  /** The DDL files, in the order they are applied. */
  public static final List<String> FILES = List.of("00-keyspaces.cql", "01-journal.cql", "02-snapshot.cql",
      "03-projection-offsets.cql", "04-billing-ledger.cql", "05-billing-invoices.cql", "06-billing-webhooks.cql",
      "07-privacy.cql", "08-audit.cql");
  public static final String DEFAULT_REPLICATION = "{'class': 'SimpleStrategy', 'replication_factor': 1}";
  private static final Pattern KEYSPACE = Pattern.compile("[a-zA-Z][a-zA-Z0-9_]{0,47}");
  private static final String ENTRY = "'[a-zA-Z0-9_.]+'\\s*:\\s*('[a-zA-Z0-9_.]+'|[0-9]+)";
  /** A CQL map literal of strings and integers: no statement separator, quote games or comments. */
  private static final Pattern REPLICATION = Pattern.compile(
      "\\{\\s*" + ENTRY + "(\\s*,\\s*" + ENTRY + ")*\\s*}");

  private ApplyDdl() {}

  public static void main(String[] args) {
    boolean print = false;
    for (String a : args) {
      if (a.equals("--print")) {
        print = true;
      } else {
        System.err.println("usage: ApplyDdl [--print]   (unknown argument '" + a + "')");
        System.exit(2);
      }
    }
    try {
      Config config = NodeConfig.load(ConfigFactory.empty());
      if (print) {
        statements(values(config, System.getenv())).forEach(s -> System.out.println(s + ";\n"));
        return;
      }
      System.out.println("applied " + run(config, System.getenv()) + " DDL statements");
    } catch (RuntimeException e) {
      System.err.println("DDL not applied: " + e.getMessage());
      System.exit(1);
    }
  }

  /**
   * What the Job does: connects to Cassandra as the node would with {@code config} (contact points, credentials, TLS),
   * waiting for it to answer, and applies every statement. Returns how many ran.
   */
  public static int run(Config config, Map<String, String> env) {
    List<String> statements = statements(values(config, env));
    try (CqlSession session = session(config)) {
      apply(session, statements);
    }
    return statements.size();
  }

  /** The placeholders' values: keyspace names from {@code config}, replication from the environment. */
  public static Map<String, String> values(Config config, Map<String, String> env) {
    Map<String, String> v = new LinkedHashMap<>();
    v.put("journal_keyspace", keyspace(config, "pekko.persistence.cassandra.journal.keyspace"));
    v.put("snapshot_keyspace", keyspace(config, "pekko.persistence.cassandra.snapshot.keyspace"));
    v.put("offsets_keyspace", keyspace(config, "pekko.projection.cassandra.offset-store.keyspace"));
    v.put("billing_keyspace", keyspace(config, "aimos.billing.keyspace"));
    String replication = env.getOrDefault("AIMOS_DDL_REPLICATION", "").strip();
    if (replication.isEmpty()) {
      replication = DEFAULT_REPLICATION;
    } else if (!REPLICATION.matcher(replication).matches()) {
      throw new IllegalArgumentException("AIMOS_DDL_REPLICATION must be a CQL replication map such as "
          + "{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}, not '" + replication + "'");
    }
    v.put("replication", replication);
    return v;
  }

  private static String keyspace(Config config, String path) {
    String name = config.getString(path);
    if (!KEYSPACE.matcher(name).matches()) {
      throw new IllegalArgumentException(path + ": invalid keyspace name '" + name + "'");
    }
    return name;
  }

  /** The statements of all {@link #FILES}, in order, filled in with {@code values}. */
  public static List<String> statements(Map<String, String> values) {
    List<String> all = new ArrayList<>();
    for (String file : FILES) {
      all.addAll(CqlScript.statements(text(file), values));
    }
    return all;
  }

  /** The text of one DDL file from the classpath. */
  public static String text(String file) {
    String resource = "/aimos/ddl/" + file;
    try (InputStream in = ApplyDdl.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("no DDL resource " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs the statements one after the other; the driver waits for schema agreement after each. */
  public static void apply(CqlSession session, List<String> statements) {
    for (String s : statements) {
      session.execute(s);
      if (!session.checkSchemaAgreement()) {
        throw new IllegalStateException("Cassandra nodes do not agree on the schema after: "
            + s.lines().findFirst().orElse(s));
      }
    }
  }

  private static CqlSession session(Config config) {
    return CqlSession.builder()
        .withConfigLoader(new DefaultDriverConfigLoader(() -> config.getConfig("datastax-java-driver"))).build();
  }
}
