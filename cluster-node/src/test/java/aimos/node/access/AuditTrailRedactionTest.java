package aimos.node.access;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What an audit record keeps of a request: never a secret, and on a tenant's routes never its personal data. */
class AuditTrailRedactionTest {

  @Test
  void aTenantsPersonalFieldsAreNotWrittenOnItsRoutes() {
    String body = "{\"id\":\"acme\",\"name\":\"Grace Hopper\",\"plan\":{\"requestsPerMinute\":10},"
        + "\"webhook\":{\"url\":\"https://grace.example/hook\",\"description\":\"Grace's\",\"secret\":\"whsec_x\"}}";
    assertEquals("{\"id\":\"acme\",\"name\":\"[personal data]\",\"plan\":{\"requestsPerMinute\":10},"
            + "\"webhook\":{\"url\":\"[personal data]\",\"description\":\"[personal data]\",\"secret\":\"***\"}}",
        AuditTrail.redactedJson(body, true).toString());
    // elsewhere (a model's name, say) they are what the record is about
    assertEquals("{\"name\":\"llama\",\"token\":\"***\"}",
        AuditTrail.redactedJson("{\"name\":\"llama\",\"token\":\"t\"}", false).toString());
  }

  @Test
  void theRoutesThatCarryPersonalDataAreATenantsOwn() {
    assertEquals(true, AuditTrail.PERSONAL_ACTION.matcher("POST /admin/tenants").find());
    assertEquals(true, AuditTrail.PERSONAL_ACTION.matcher("POST /admin/tenants/{id}/webhooks").find());
    assertEquals(true, AuditTrail.PERSONAL_ACTION.matcher("POST /v1/webhooks").find());
    assertEquals(false, AuditTrail.PERSONAL_ACTION.matcher("POST /admin/models").find());
  }

  @Test
  void aBodyThatIsNotJsonIsNotCopiedOnATenantsRoutes() {
    assertEquals("\"[not JSON: 12 characters]\"", AuditTrail.redactedJson("Grace Hopper", true).toString());
  }
}
