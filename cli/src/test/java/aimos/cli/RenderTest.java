package aimos.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

class RenderTest {
  private static JsonNode json(String s) throws Exception {
    return Management.JSON.readTree(s);
  }

  @Test
  void anObjectIsFieldsWithNestedNamesAndItsListsAsTables() throws Exception {
    String t = Render.render(json("""
        {"id":"acme","plan":{"rpm":600,"budget":"1.00"},"tags":["a","b"],"none":null,
         "keys":[{"keyId":"k1","revoked":false},{"keyId":"k22","revoked":true}]}"""), Format.table);
    assertEquals("""
        FIELD        VALUE
        id           acme
        plan.rpm     600
        plan.budget  1.00
        tags         a,b
        none         -

        keys (2):
        KEYID  REVOKED
        k1     false
        k22    true
        """, t);
  }

  @Test
  void aListIsOneRowEachWithTheUnionOfColumns() throws Exception {
    String t = Render.render(json("[{\"a\":1,\"n\":{\"x\":2}},{\"a\":3,\"b\":\"y\"}]"), Format.table);
    assertEquals("A  N.X  B\n1  2\n3       y\n", t);
    assertEquals("(none)\n", Render.render(json("[]"), Format.table));
  }

  @Test
  void jsonAndYamlKeepTheWholeAnswer() throws Exception {
    JsonNode n = json("{\"id\":\"acme\",\"plan\":{\"rpm\":600},\"keys\":[{\"keyId\":\"k1\"}]}");
    assertEquals(n, Management.JSON.readTree(Render.render(n, Format.json)));
    Object y = new Yaml().load(Render.render(n, Format.yaml));
    assertEquals(Map.of("id", "acme", "plan", Map.of("rpm", 600), "keys", java.util.List.of(Map.of("keyId", "k1"))),
        y);
    assertTrue(Render.render(n, Format.yaml).contains("plan:\n  rpm: 600"), Render.render(n, Format.yaml));
  }
}
