package aimos.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * Prints a JSON answer as a table (an object as FIELD/VALUE rows with nested objects flattened to dotted names and
 * its lists of objects as tables of their own; a list of objects as one row each), as indented JSON or as YAML.
 */
public final class Render {
  private Render() {}

  public static String render(JsonNode node, Format format) {
    return switch (format) {
      case json -> json(node);
      case yaml -> yaml(node);
      case table -> table(node);
    };
  }

  static String json(JsonNode node) {
    try {
      return Management.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(node) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String yaml(JsonNode node) {
    DumperOptions o = new DumperOptions();
    o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    o.setIndicatorIndent(0);
    o.setSplitLines(false);
    Object value = Management.JSON.convertValue(node, Object.class);
    return new Yaml(o).dump(value);
  }

  static String table(JsonNode node) {
    StringBuilder b = new StringBuilder();
    if (node == null || node.isNull() || node.isMissingNode()) {
      return "";
    }
    if (node.isArray()) {
      rows(b, node);
    } else if (node.isObject()) {
      Map<String, String> fields = new LinkedHashMap<>();
      Map<String, JsonNode> lists = new LinkedHashMap<>();
      flatten("", node, fields, lists);
      List<List<String>> kv = new ArrayList<>();
      fields.forEach((k, v) -> kv.add(List.of(k, v)));
      if (!kv.isEmpty()) {
        grid(b, List.of("FIELD", "VALUE"), kv);
      }
      lists.forEach((name, list) -> {
        if (b.length() > 0) {
          b.append('\n');
        }
        b.append(name).append(" (").append(list.size()).append("):\n");
        rows(b, list);
      });
    } else {
      b.append(scalar(node)).append('\n');
    }
    return b.toString();
  }

  /** A list of objects as a table (nested objects as dotted columns), a list of scalars one per line. */
  private static void rows(StringBuilder b, JsonNode list) {
    if (list.isEmpty()) {
      b.append("(none)\n");
      return;
    }
    boolean objects = true;
    for (JsonNode e : list) {
      objects &= e.isObject();
    }
    if (!objects) {
      for (JsonNode e : list) {
        b.append(cell(e)).append('\n');
      }
      return;
    }
    List<Map<String, String>> flat = new ArrayList<>();
    Set<String> columns = new LinkedHashSet<>();
    for (JsonNode e : list) {
      Map<String, String> m = new LinkedHashMap<>();
      flattenRow("", e, m);
      columns.addAll(m.keySet());
      flat.add(m);
    }
    List<String> header = new ArrayList<>();
    columns.forEach(c -> header.add(c.toUpperCase(java.util.Locale.ROOT)));
    List<List<String>> cells = new ArrayList<>();
    for (Map<String, String> m : flat) {
      List<String> row = new ArrayList<>();
      columns.forEach(c -> row.add(m.getOrDefault(c, "")));
      cells.add(row);
    }
    grid(b, header, cells);
  }

  private static void flatten(String prefix, JsonNode node, Map<String, String> fields, Map<String, JsonNode> lists) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String name = prefix + f.getKey();
      JsonNode v = f.getValue();
      if (v.isObject() && !v.isEmpty()) {
        flatten(name + ".", v, fields, lists);
      } else if (v.isArray() && !v.isEmpty() && v.get(0).isObject()) {
        lists.put(name, v);
      } else {
        fields.put(name, cell(v));
      }
    }
  }

  private static void flattenRow(String prefix, JsonNode node, Map<String, String> m) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      if (f.getValue().isObject() && !f.getValue().isEmpty()) {
        flattenRow(prefix + f.getKey() + ".", f.getValue(), m);
      } else {
        m.put(prefix + f.getKey(), cell(f.getValue()));
      }
    }
  }

  /** A scalar as text; a list of scalars joined with commas; a list of objects as its length; null as "-". */
  private static String cell(JsonNode v) {
    if (v == null || v.isNull() || v.isMissingNode()) {
      return "-";
    }
    if (v.isArray()) {
      boolean scalars = true;
      for (JsonNode e : v) {
        scalars &= e.isValueNode();
      }
      if (!scalars) {
        return "[" + v.size() + " items]";
      }
      List<String> parts = new ArrayList<>();
      v.forEach(e -> parts.add(scalar(e)));
      return parts.isEmpty() ? "-" : String.join(",", parts);
    }
    if (v.isObject()) {
      return v.isEmpty() ? "-" : v.toString();
    }
    return scalar(v);
  }

  private static String scalar(JsonNode v) {
    return v.isNull() ? "-" : v.asText().replace('\n', ' ');
  }

  private static void grid(StringBuilder b, List<String> header, List<List<String>> rows) {
    int[] width = new int[header.size()];
    for (int i = 0; i < header.size(); i++) {
      width[i] = header.get(i).length();
    }
    for (List<String> r : rows) {
      for (int i = 0; i < r.size(); i++) {
        width[i] = Math.max(width[i], r.get(i).length());
      }
    }
    line(b, header, width);
    rows.forEach(r -> line(b, r, width));
  }

  private static void line(StringBuilder b, List<String> cells, int[] width) {
    StringBuilder l = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      if (i > 0) {
        l.append("  ");
      }
      l.append(cells.get(i));
      if (i < cells.size() - 1) {
        l.append(" ".repeat(width[i] - cells.get(i).length()));
      }
    }
    b.append(l.toString().stripTrailing()).append('\n');
  }
}
