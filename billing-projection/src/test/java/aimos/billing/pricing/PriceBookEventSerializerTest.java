package aimos.billing.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.NotSerializableException;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Price lists stay readable forever: these bytes were written by schema v1 of PriceListAdded. */
class PriceBookEventSerializerTest {
  private final PriceBookEventSerializer serializer = new PriceBookEventSerializer();

  private Object decode(String base64) throws NotSerializableException {
    return serializer.fromBinary(Base64.getDecoder().decode(base64), "PriceListAdded.v1");
  }

  @Test
  void decodesCommittedBytes() throws Exception {
    assertEquals(new PriceBookEntity.PriceListAdded(new PriceList(1, 0, PriceCatalog.seed(), Map.of(),
            1795687200000L)),
        decode("CAEYoJwBIJBOKKCNBjDAhD04CkiA6rC6oTQ="));
    assertEquals(new PriceBookEntity.PriceListAdded(new PriceList(2, 1797292800000L,
            new PriceCatalog(30_000, 10_000, 100_000, 2_000_000, 15),
            Map.of("demo-text", 50_000L, "demo-vision", 5_000L), 1795687200000L)),
        decode("CAIQgPD+t6c0GLDqASCQTiigjQYwgIl6OA9CDwoJZGVtby10ZXh0ENCGA0IQCgtkZW1vLXZpc2lvbhCIJ0iA6rC6oTQ="));
  }

  @Test
  void writesTheSameBytesForTheSameListAndRoundTrips() throws Exception {
    var e = new PriceBookEntity.PriceListAdded(new PriceList(2, 1797292800000L,
        new PriceCatalog(30_000, 10_000, 100_000, 2_000_000, 15),
        Map.of("demo-vision", 5_000L, "demo-text", 50_000L), 1795687200000L));
    assertEquals("CAIQgPD+t6c0GLDqASCQTiigjQYwgIl6OA9CDwoJZGVtby10ZXh0ENCGA0IQCgtkZW1vLXZpc2lvbhCIJ0iA6rC6oTQ=",
        Base64.getEncoder().encodeToString(serializer.toBinary(e)));
    assertEquals("PriceListAdded.v1", serializer.manifest(e));
    assertEquals(e, serializer.fromBinary(serializer.toBinary(e), serializer.manifest(e)));
  }

  @Test
  void refusesUnknownManifestsCorruptBytesAndImpossibleLists() {
    assertThrows(NotSerializableException.class, () -> serializer.fromBinary(new byte[0], "PriceListRemoved.v1"));
    assertThrows(NotSerializableException.class,
        () -> serializer.fromBinary(new byte[] {(byte) 0xff, (byte) 0xff, 0x01}, "PriceListAdded.v1"));
    // id 0 (an empty message) is no list
    assertThrows(NotSerializableException.class, () -> serializer.fromBinary(new byte[0], "PriceListAdded.v1"));
    assertThrows(IllegalArgumentException.class, () -> serializer.manifest("not an event"));
  }
}
