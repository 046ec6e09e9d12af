package aimos.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import aimos.api.v1.BillingUnit;
import aimos.model.directory.ModelDirectory;
import java.io.NotSerializableException;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** Bytes written by schema v1 of the model events decode the same way forever. */
class ModelEventSerializerTest {
  private final ModelEventSerializer serializer = new ModelEventSerializer();

  private Object decode(String manifest, String base64) throws NotSerializableException {
    return serializer.fromBinary(Base64.getDecoder().decode(base64), manifest);
  }

  @Test
  void decodesBytesWrittenBySchemaV1() throws Exception {
    assertEquals(new ModelEntity.ModelRegistered("demo-text", "Demo", 1764000000000L),
        decode("ModelRegistered.v1", "CglkZW1vLXRleHQSBERlbW8YgNDftKsz"));
    assertEquals(new ModelEntity.VersionRegistered(new ModelEntity.VersionInfo("v1", "echo-text", BillingUnit.TOKENS,
            20000, 2, 0, 1764000000500L)),
        decode("VersionRegistered.v1", "CgJ2MRIJZWNoby10ZXh0GgZUT0tFTlMgoJwBKPTT37SrMzAC"));
    assertEquals(new ModelDirectory.NameAdded("demo-text"),
        decode("ModelDirectoryEntryAdded.v1", "CglkZW1vLXRleHQ="));
  }

  @Test
  void refusesUnknownManifests() {
    assertThrows(NotSerializableException.class, () -> serializer.fromBinary(new byte[0], "ModelDeleted.v1"));
  }
}
