package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.node.access.AccessPolicy;
import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.dialect.Dialects;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The committed OpenAPI document is valid OpenAPI 3.1 (the OpenAPI Initiative's own JSON Schema for 3.1 documents,
 * and every Schema Object against JSON Schema 2020-12), its local references resolve, and its admin paths are exactly
 * the routes {@link AccessPolicy#RULES} names: a route added to one and not the other fails here.
 */
class OpenApiDocumentTest {
  private static final String OAS_SCHEMA = "openapi/oas-3.1-schema.json";
  private final JsonNode doc = OpenApiContract.get().document();
  private final String text = new String(OpenApi.json(), StandardCharsets.UTF_8);

  private static String resource(String name) throws Exception {
    try (InputStream in = OpenApiDocumentTest.class.getClassLoader().getResourceAsStream(name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void isAnOpenApi31DocumentByTheSpecificationsSchema() throws Exception {
    String oas = resource(OAS_SCHEMA);
    String id = new com.fasterxml.jackson.databind.ObjectMapper().readTree(oas).get("$id").asText();
    Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
        b -> b.schemas(Map.of(id, oas))).getSchema(SchemaLocation.of(id));
    var errors = schema.validate(text, InputFormat.JSON);
    assertTrue(errors.isEmpty(), () -> "not a valid OpenAPI 3.1 document: " + errors);
    assertTrue(doc.get("openapi").asText().startsWith("3.1."));
  }

  @Test
  void theSpecificationsSchemaRefusesABrokenDocument() throws Exception {
    String oas = resource(OAS_SCHEMA);
    String id = new com.fasterxml.jackson.databind.ObjectMapper().readTree(oas).get("$id").asText();
    Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
        b -> b.schemas(Map.of(id, oas))).getSchema(SchemaLocation.of(id));
    String broken = text.replace("\"responses\":{\"200\"", "\"responsez\":{\"200\"");
    assertTrue(!broken.equals(text));
    assertTrue(!schema.validate(broken, InputFormat.JSON).isEmpty(), "a misspelt operation field must be refused");
  }

  @Test
  void everySchemaObjectIsJsonSchema202012() {
    Schema meta = SchemaRegistry.withDialect(Dialects.getDraft202012())
        .getSchema(SchemaLocation.of(Dialects.getDraft202012().getId()));
    List<String> problems = new ArrayList<>();
    Map<String, JsonNode> found = new java.util.LinkedHashMap<>();
    doc.path("components").path("schemas").fields()
        .forEachRemaining(e -> found.put("#/components/schemas/" + e.getKey(), e.getValue()));
    collectSchemas(doc.path("paths"), "#/paths", found);
    collectSchemas(doc.path("components"), "#/components", found);
    assertTrue(found.size() > 50, "schemas found: " + found.size());
    found.forEach((where, schema) -> meta.validate(schema.toString(), InputFormat.JSON)
        .forEach(e -> problems.add(where + e.getInstanceLocation() + ": " + e.getMessage())));
    assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
  }

  private static void collectSchemas(JsonNode node, String where, Map<String, JsonNode> found) {
    node.fields().forEachRemaining(e -> {
      String at = where + "/" + e.getKey();
      if (e.getKey().equals("schema") && e.getValue().isObject()) {
        found.put(at, e.getValue());
      } else if (e.getValue().isContainerNode() && !e.getKey().equals("schemas")) {
        collectSchemas(e.getValue(), at, found);
      }
    });
    if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collectSchemas(node.get(i), where + "/" + i, found);
      }
    }
  }

  @Test
  void localReferencesResolveAndOperationIdsAreUnique() {
    List<String> problems = new ArrayList<>();
    refs(doc, problems);
    Set<String> ids = new HashSet<>();
    doc.get("paths").fields().forEachRemaining(p -> p.getValue().fields().forEachRemaining(op -> {
      if (op.getValue().has("operationId") && !ids.add(op.getValue().get("operationId").asText())) {
        problems.add("operationId " + op.getValue().get("operationId").asText() + " is used twice");
      }
    }));
    assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
  }

  private void refs(JsonNode node, List<String> problems) {
    if (node.isObject() && node.has("$ref")) {
      String ref = node.get("$ref").asText();
      if (!ref.startsWith("#/") || doc.at(ref.substring(1)).isMissingNode()) {
        problems.add("$ref " + ref + " does not resolve");
      }
    }
    node.elements().forEachRemaining(child -> refs(child, problems));
  }

  @Test
  void everyPathParameterIsDeclared() {
    Pattern param = Pattern.compile("\\{([^}]+)}");
    List<String> problems = new ArrayList<>();
    doc.get("paths").fields().forEachRemaining(p -> {
      Matcher m = param.matcher(p.getKey());
      while (m.find()) {
        String name = m.group(1);
        p.getValue().fields().forEachRemaining(op -> {
          if (!Set.of("get", "put", "post", "delete", "patch").contains(op.getKey())) {
            return;
          }
          boolean declared = false;
          for (JsonNode list : List.of(p.getValue().path("parameters"), op.getValue().path("parameters"))) {
            for (JsonNode prm : list) {
              JsonNode resolved = prm.has("$ref") ? doc.at(prm.get("$ref").asText().substring(1)) : prm;
              declared |= resolved.path("in").asText().equals("path") && resolved.path("name").asText().equals(name);
            }
          }
          if (!declared) {
            problems.add(op.getKey().toUpperCase() + " " + p.getKey() + " does not declare path parameter " + name);
          }
        });
      }
    });
    assertTrue(problems.isEmpty(), () -> String.join("\n", problems));
  }

  /** Method and path of every operation under {@code prefix}, as {@code "GET /admin/tenants/{id}"}. */
  private Set<String> operations(String prefix) {
    Set<String> ops = new TreeSet<>();
    doc.get("paths").fields().forEachRemaining(p -> {
      if (p.getKey().startsWith(prefix)) {
        p.getValue().fieldNames().forEachRemaining(m -> {
          if (Set.of("get", "put", "post", "delete", "patch").contains(m)) {
            ops.add(m.toUpperCase() + " " + p.getKey());
          }
        });
      }
    });
    return ops;
  }

  @Test
  void adminPathsAreExactlyTheAccessPolicysRoutes() {
    Set<String> rules = new TreeSet<>();
    AccessPolicy.RULES.forEach(r -> rules.add(r.method() + " " + r.template()));
    Set<String> documented = operations("/admin");
    Set<String> undocumented = new TreeSet<>(rules);
    undocumented.removeAll(documented);
    Set<String> unruled = new TreeSet<>(documented);
    unruled.removeAll(rules);
    assertTrue(undocumented.isEmpty(), () -> "admin routes missing from openapi/aimos.yaml: " + undocumented);
    assertTrue(unruled.isEmpty(), () -> "documented admin routes that AccessPolicy.RULES does not name: " + unruled);
    assertEquals(rules.size(), documented.size());
  }

  @Test
  void adminOperationsNeedAnAdminTokenOnTheManagementPort() {
    String management = doc.get("x-management-server").get(0).get("url").asText();
    doc.get("paths").fields().forEachRemaining(p -> {
      if (!p.getKey().startsWith("/admin")) {
        return;
      }
      assertEquals(management, p.getValue().path("servers").path(0).path("url").asText(), p.getKey());
      p.getValue().fields().forEachRemaining(op -> {
        if (op.getValue().has("responses")) {
          assertEquals("[{\"adminToken\":[]}]", op.getValue().path("security").toString(),
              op.getKey() + " " + p.getKey());
          assertTrue(op.getValue().path("tags").toString().contains("admin"), p.getKey());
        }
      });
    });
  }
}
