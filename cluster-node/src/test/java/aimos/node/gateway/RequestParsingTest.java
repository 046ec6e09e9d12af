package aimos.node.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class RequestParsingTest {
  @Test
  void aGrpcTimeoutIsReadInEveryUnitAndAMalformedOneMeansNoDeadline() {
    assertEquals(500_000_000L, InferenceMapping.parseGrpcTimeout("500m"));
    assertEquals(2_000_000_000L, InferenceMapping.parseGrpcTimeout("2S"));
    assertEquals(3_600_000_000_000L, InferenceMapping.parseGrpcTimeout("1H"));
    assertEquals(7L, InferenceMapping.parseGrpcTimeout("7n"));
    for (String bad : new String[] {"", "5", "m", "12345678901S", "-1S", "1x", "1.5S"}) {
      assertNull(InferenceMapping.parseGrpcTimeout(bad), bad);
    }
  }

  @Test
  void textPartsAreOneLineEachAndAPartWithoutTextIsRefused() throws Exception {
    ObjectMapper json = new ObjectMapper();
    assertEquals("alpha beta\ngamma", OpenAiRoutes.content(json.readTree(
        "[{\"type\": \"text\", \"text\": \"alpha beta\"}, {\"type\": \"text\", \"text\": \"gamma\"}]")));
    var missing = assertThrows(IllegalArgumentException.class, () -> OpenAiRoutes.content(json.readTree(
        "[{\"type\": \"text\", \"text\": 42}]")));
    assertTrue(missing.getMessage().contains("\"text\": a string"), missing.getMessage());
  }
}
