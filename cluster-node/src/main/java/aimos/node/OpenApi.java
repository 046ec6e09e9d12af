package aimos.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The REST contract: {@code openapi/aimos.yaml} (committed, OpenAPI 3.1), served as JSON at {@code GET /openapi.json}
 * on the gateway port and on the management port, before any authentication. The document is read once.
 */
public final class OpenApi {
  public static final String RESOURCE = "openapi/aimos.yaml";

  private OpenApi() {}

  private static final class Holder {
    static final byte[] JSON = load();
  }

  /** The document as JSON bytes (YAML anchors expanded). */
  public static byte[] json() {
    return Holder.JSON.clone();
  }

  private static byte[] load() {
    LoaderOptions options = new LoaderOptions();
    // the management port's servers list is one anchor that every admin path names
    options.setMaxAliasesForCollections(500);
    try (InputStream in = OpenApi.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the classpath");
      }
      Map<String, Object> doc = new Yaml(new SafeConstructor(options)).load(in);
      return new ObjectMapper().writeValueAsBytes(doc);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  /** {@code GET /openapi.json}: static, so it is answered before authentication. */
  public static Route route() {
    return Directives.path("openapi.json", () -> Directives.get(() -> Directives.complete(HttpResponse.create()
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, Holder.JSON)))));
  }
}
