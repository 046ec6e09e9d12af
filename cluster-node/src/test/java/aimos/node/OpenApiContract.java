package aimos.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Checks a real HTTP response against the committed OpenAPI document (the bytes {@code /openapi.json} serves): its
 * status must be listed for the operation (or the operation must have a {@code default}), each required header must be
 * there, its content type must be one the response declares, and a JSON body must match the declared schema. A
 * mismatch is an {@link AssertionError} that names the operation, the status and every problem.
 */
public final class OpenApiContract {
  static final String DOC_URI = "https://aimos.invalid/openapi.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final OpenApiContract INSTANCE = new OpenApiContract();

  private final JsonNode doc;
  private final SchemaRegistry registry;
  private final Map<String, Schema> schemas = new ConcurrentHashMap<>();

  /** The JSON pointer of each JSON response schema in the document, to its key under {@code x-response-schemas}. */
  private final Map<String, String> hoisted = new java.util.HashMap<>();

  private OpenApiContract() {
    try {
      this.doc = JSON.readTree(aimos.node.OpenApi.json());
      // Response schemas sit under paths such as /paths/~1admin~1tenants~1{id}/...: copied to plain names, they are
      // addressed by simple fragments, and their $refs (#/components/...) still resolve in the same document.
      com.fasterxml.jackson.databind.node.ObjectNode augmented = doc.deepCopy();
      com.fasterxml.jackson.databind.node.ObjectNode copies = augmented.putObject("x-response-schemas");
      doc.get("paths").fields().forEachRemaining(p -> p.getValue().fields().forEachRemaining(op ->
          op.getValue().path("responses").fields().forEachRemaining(r ->
              hoist(pointer("paths", p.getKey(), op.getKey(), "responses", r.getKey()), r.getValue(), copies))));
      doc.path("components").path("responses").fields().forEachRemaining(r ->
          hoist(pointer("components", "responses", r.getKey()), r.getValue(), copies));
      String text = JSON.writeValueAsString(augmented);
      this.registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
          b -> b.schemas(Map.of(DOC_URI, text)));
    } catch (Exception e) {
      throw new IllegalStateException("the OpenAPI document does not load", e);
    }
  }

  private void hoist(String responsePointer, JsonNode response,
                     com.fasterxml.jackson.databind.node.ObjectNode copies) {
    JsonNode schema = response.path("content").path("application/json").path("schema");
    if (!schema.isMissingNode()) {
      String key = "s" + hoisted.size();
      copies.set(key, schema);
      hoisted.put(responsePointer + pointer("content", "application/json", "schema"), key);
    }
  }

  public static OpenApiContract get() {
    return INSTANCE;
  }

  public JsonNode document() {
    return doc;
  }

  /** A response as the tests see it: status, headers (names in any case), body. */
  public record Observed(int status, Map<String, List<String>> headers, String body) {
    Optional<String> header(String name) {
      return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
          .flatMap(e -> e.getValue().stream()).findFirst();
    }

    static Observed of(java.net.http.HttpResponse<String> r) {
      return new Observed(r.statusCode(), r.headers().map(), r.body());
    }
  }

  /**
   * Checks {@code reply} as the answer of {@code method path}: a concrete path ({@code /admin/tenants/acme?x=1}) is
   * matched to the document's template ({@code /admin/tenants/{id}}). Returns the reply.
   */
  public static Http.Reply check(String method, String path, Http.Reply reply) {
    get().verify(method, get().templateOf(path), new Observed(reply.status(), reply.headers(), reply.body()));
    return reply;
  }

  public static java.net.http.HttpResponse<String> check(String method, String path,
                                                         java.net.http.HttpResponse<String> r) {
    get().verify(method, get().templateOf(path), Observed.of(r));
    return r;
  }

  /** The document's path template for a concrete path: the one with the most literal segments that matches. */
  public String templateOf(String path) {
    String bare = path.split("\\?")[0];
    String best = null;
    int bestLiterals = -1;
    for (java.util.Iterator<String> it = doc.get("paths").fieldNames(); it.hasNext(); ) {
      String template = it.next();
      String[] t = template.split("/", -1);
      String[] p = bare.split("/", -1);
      if (t.length != p.length) {
        continue;
      }
      int literals = 0;
      boolean match = true;
      for (int i = 0; i < t.length && match; i++) {
        if (t[i].startsWith("{") && t[i].endsWith("}")) {
          match = !p[i].isEmpty();
        } else {
          match = t[i].equals(p[i]);
          literals++;
        }
      }
      if (match && literals > bestLiterals) {
        best = template;
        bestLiterals = literals;
      }
    }
    if (best == null) {
      throw new AssertionError("no path of the OpenAPI document matches " + path);
    }
    return best;
  }

  static String pointer(String... tokens) {
    StringBuilder b = new StringBuilder();
    for (String t : tokens) {
      b.append('/').append(t.replace("~", "~0").replace("/", "~1"));
    }
    return b.toString();
  }

  /** Follows a local {@code $ref} ({@code #/components/...}); returns the node and its JSON pointer. */
  private Map.Entry<String, JsonNode> deref(String pointer, JsonNode node) {
    int hops = 0;
    while (node.has("$ref") && hops++ < 10) {
      String ref = node.get("$ref").asText();
      if (!ref.startsWith("#")) {
        throw new AssertionError("only local $refs are used in the document: " + ref);
      }
      pointer = ref.substring(1);
      node = doc.at(pointer);
      if (node.isMissingNode()) {
        throw new AssertionError("$ref " + ref + " does not resolve");
      }
    }
    return Map.entry(pointer, node);
  }

  public void verify(String method, String template, Observed r) {
    String m = method.toLowerCase(Locale.ROOT);
    String opPointer = pointer("paths", template, m);
    JsonNode op = doc.at(opPointer);
    if (op.isMissingNode()) {
      // a method the path does not serve must be refused as such
      if (doc.get("paths").has(template) && r.status() == 405) {
        return;
      }
      throw new AssertionError("the OpenAPI document has no operation " + method + " " + template + " (answered "
          + r.status() + ")");
    }
    String status = Integer.toString(r.status());
    String key = op.path("responses").has(status) ? status
        : op.path("responses").has(status.charAt(0) + "XX") ? status.charAt(0) + "XX"
        : op.path("responses").has("default") ? "default" : null;
    String what = method + " " + template + " answered " + r.status();
    if (key == null) {
      throw new AssertionError(what + ", a status the document does not list for it (it lists "
          + iterable(op.path("responses").fieldNames()) + "); body: " + clip(r.body()));
    }
    Map.Entry<String, JsonNode> resolved = deref(opPointer + pointer("responses", key),
        op.path("responses").get(key));
    JsonNode response = resolved.getValue();
    List<String> problems = new ArrayList<>();
    response.path("headers").fields().forEachRemaining(h -> {
      JsonNode header = deref("", h.getValue()).getValue();
      Optional<String> value = r.header(h.getKey());
      if (value.isEmpty()) {
        if (header.path("required").asBoolean(false)) {
          problems.add("required header " + h.getKey() + " is missing");
        }
        return;
      }
      JsonNode schema = header.path("schema");
      if (schema.path("type").asText("").equals("integer") && !value.get().matches("\\d+")) {
        problems.add("header " + h.getKey() + " is not a whole number: " + value.get());
      }
      if (schema.has("const") && !schema.get("const").asText().equals(value.get())) {
        problems.add("header " + h.getKey() + " is '" + value.get() + "', not '" + schema.get("const").asText() + "'");
      }
    });
    JsonNode content = response.path("content");
    if (content.isObject() && content.size() > 0) {
      String type = r.header("Content-Type").map(t -> t.split(";")[0].trim().toLowerCase(Locale.ROOT)).orElse("");
      if (!content.has(type)) {
        problems.add("content type '" + type + "' is not one of " + iterable(content.fieldNames()));
      } else if (type.equals("application/json")) {
        String schemaPointer = resolved.getKey() + pointer("content", type, "schema");
        String copy = hoisted.get(schemaPointer);
        if (copy == null) {
          throw new AssertionError("no response schema at " + schemaPointer);
        }
        Schema schema = schemas.computeIfAbsent(copy,
            k -> registry.getSchema(SchemaLocation.of(DOC_URI + "#/x-response-schemas/" + k)));
        List<com.networknt.schema.Error> errors;
        try {
          errors = schema.validate(r.body(), InputFormat.JSON);
        } catch (RuntimeException e) {
          errors = List.of();
          problems.add("the body is not JSON: " + e.getMessage());
        }
        errors.forEach(e -> problems.add("body " + e.getInstanceLocation() + ": " + e.getMessage()));
      }
    }
    if (!problems.isEmpty()) {
      throw new AssertionError(what + " (response '" + key + "') breaks the OpenAPI contract: "
          + String.join("; ", problems) + "; body: " + clip(r.body()));
    }
  }

  private static String clip(String body) {
    return body == null ? "" : body.length() > 600 ? body.substring(0, 600) + "..." : body;
  }

  private static List<String> iterable(java.util.Iterator<String> it) {
    List<String> l = new ArrayList<>();
    it.forEachRemaining(l::add);
    return l;
  }
}
