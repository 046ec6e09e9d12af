package aimos.node.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * {@code GET /admin/tenants/{id}/export} (everything held about the tenant, as JSON) and
 * {@code POST /admin/tenants/{id}/erase} with {@code {"confirm": "<id>"}}, mounted by {@link AdminRoutes} behind its
 * authentication, access policy and audit.
 */
public final class PrivacyRoutes extends AllDirectives {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final TenantPrivacy privacy;

  public PrivacyRoutes(TenantPrivacy privacy) {
    this.privacy = privacy;
  }

  public Route tenantRoutes(String id) {
    return concat(
        path("export", () -> get(() -> AdminRoutes.respond(StatusCodes.OK, () -> privacy.export(id)))),
        path("erase", () -> post(() -> entity(Unmarshaller.entityToString(),
            body -> AdminRoutes.respond(StatusCodes.OK, () -> privacy.erase(id, confirmation(body)))))));
  }

  /** The {@code confirm} field of the body, or "" when there is none. */
  static String confirmation(String body) {
    if (body == null || body.isBlank()) {
      return "";
    }
    JsonNode node;
    try {
      node = JSON.readTree(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("the body is not valid JSON: " + e.getOriginalMessage());
    }
    JsonNode confirm = node == null || !node.isObject() ? null : node.get("confirm");
    return confirm != null && confirm.isTextual() ? confirm.asText() : "";
  }
}
