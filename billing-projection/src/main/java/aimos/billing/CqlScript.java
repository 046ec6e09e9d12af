package aimos.billing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * The billing keyspace's DDL files ({@code /aimos/billing/*.cql}, the same files operators apply): their statements
 * for a keyspace, run one after the other. Creating tables at start-up is for development and tests.
 */
public final class CqlScript {
  private static final java.util.regex.Pattern KEYSPACE = java.util.regex.Pattern.compile("[a-zA-Z][a-zA-Z0-9_]{0,47}");

  private CqlScript() {}

  /** The statements of {@code resource} with {@code ${keyspace}} filled in, comment lines removed. */
  public static List<String> statements(String resource, String keyspace) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    String text;
    try (InputStream in = CqlScript.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("no DDL resource " + resource);
      }
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return statements(text, java.util.Map.of("keyspace", keyspace));
  }

  /**
   * The statements of a DDL text (comment lines removed, split at {@code ;}) with each {@code ${name}} replaced by
   * {@code values.get(name)}. A placeholder without a value is an error, so no statement runs half-filled.
   */
  public static List<String> statements(String text, java.util.Map<String, String> values) {
    StringBuilder sb = new StringBuilder();
    for (String line : text.split("\n")) {
      if (!line.strip().startsWith("--")) {
        sb.append(line).append('\n');
      }
    }
    String filled = sb.toString();
    for (var e : values.entrySet()) {
      filled = filled.replace("${" + e.getKey() + "}", e.getValue());
    }
    java.util.regex.Matcher left = java.util.regex.Pattern.compile("\\$\\{([^}]*)}").matcher(filled);
    if (left.find()) {
      throw new IllegalArgumentException("no value for ${" + left.group(1) + "} in the DDL");
    }
    return Arrays.stream(filled.split(";")).map(String::strip).filter(s -> !s.isEmpty()).toList();
  }

  public static CompletionStage<Done> apply(CassandraSession session, String resource, String keyspace) {
    CompletionStage<Done> chain = CompletableFuture.completedFuture(Done.getInstance());
    for (String stmt : statements(resource, keyspace)) {
      chain = chain.thenCompose(d -> session.executeDDL(stmt));
    }
    return chain;
  }
}
