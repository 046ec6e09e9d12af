package aimos.access.token;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.NotSerializableException;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** Access events stay readable across versions: these bytes were written by schema v1 and must decode forever. */
class AccessEventSerializerTest {
  private final AccessEventSerializer serializer = new AccessEventSerializer();

  private Object decode(String manifest, String base64) throws NotSerializableException {
    return serializer.fromBinary(Base64.getDecoder().decode(base64), manifest);
  }

  @Test
  void decodesBytesWrittenBySchemaV1() throws Exception {
    var issued = (AdminTokenEntity.Issued) decode("AdminTokenIssued.v1", ISSUED_V1);
    assertEquals("0123456789abcdef", issued.id());
    assertEquals("ci pipeline", issued.name());
    assertEquals(Role.OPERATOR, issued.role());
    assertArrayEquals(new byte[] {1, 2, 3}, issued.salt());
    assertArrayEquals(new byte[] {4, 5, 6}, issued.hash());
    assertEquals(1_800_000_000_000L, issued.atMillis());
    assertEquals("config:admin-token", issued.by());
    var rotated = (AdminTokenEntity.Rotated) decode("AdminTokenRotated.v1", ROTATED_V1);
    assertEquals("0123456789abcdef", rotated.id());
    assertArrayEquals(new byte[] {7}, rotated.salt());
    assertArrayEquals(new byte[] {8}, rotated.hash());
    assertEquals(1_800_000_001_000L, rotated.atMillis());
    assertEquals("alice", rotated.by());
    assertEquals(1_800_000_601_000L, rotated.previousValidUntilMillis());
    assertEquals(new AdminTokenEntity.Revoked("0123456789abcdef", 1_800_000_002_000L, "bob"),
        decode("AdminTokenRevoked.v1", REVOKED_V1));
  }

  @Test
  void writesWhatItReads() throws Exception {
    var issued = new AdminTokenEntity.Issued("0123456789abcdef", "ci pipeline", Role.OPERATOR, new byte[] {1, 2, 3},
        new byte[] {4, 5, 6}, 1_800_000_000_000L, "config:admin-token");
    assertEquals(ISSUED_V1, Base64.getEncoder().encodeToString(serializer.toBinary(issued)));
    var rotated = new AdminTokenEntity.Rotated("0123456789abcdef", new byte[] {7}, new byte[] {8},
        1_800_000_001_000L, "alice", 1_800_000_601_000L);
    assertEquals(ROTATED_V1, Base64.getEncoder().encodeToString(serializer.toBinary(rotated)));
    var revoked = new AdminTokenEntity.Revoked("0123456789abcdef", 1_800_000_002_000L, "bob");
    assertEquals(REVOKED_V1, Base64.getEncoder().encodeToString(serializer.toBinary(revoked)));
    assertEquals("AdminTokenRevoked.v1", serializer.manifest(revoked));
  }

  @Test
  void unknownManifestsAndCorruptBytesAreRefused() {
    assertThrows(NotSerializableException.class, () -> decode("AdminTokenIssued.v9", ISSUED_V1));
    assertThrows(NotSerializableException.class, () -> decode("AdminTokenIssued.v1", "/////w=="));
  }

  private static final String ISSUED_V1 =
      "ChAwMTIzNDU2Nzg5YWJjZGVmEgtjaSBwaXBlbGluZRoIb3BlcmF0b3IiAwECAyoDBAUGMICg8cKxNDoSY29uZmlnOmFkbWluLXRva2Vu";
  private static final String ROTATED_V1 = "ChAwMTIzNDU2Nzg5YWJjZGVmEgEHGgEIIOin8cKxNCoFYWxpY2UwqPeVw7E0";
  private static final String REVOKED_V1 = "ChAwMTIzNDU2Nzg5YWJjZGVmENCv8cKxNBoDYm9i";
}
