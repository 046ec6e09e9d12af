package aimos.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * During a rolling upgrade, nodes of the version before lease holders exchange lease requests with nodes of this one:
 * each reads the other's bytes. The earlier node is played by a Kryo that registers the earlier shape under the same
 * id, as that version did.
 */
class ModelMessagesCompatibilityTest {
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.load());
  private static final SerializerWithStringManifest serializer = (SerializerWithStringManifest)
      SerializationExtension.get(testKit.system()).findSerializerFor(new ModelEntity.ReleaseLease("any"));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static Kryo earlierNode() {
    Kryo kryo = new Kryo();
    kryo.setRegistrationRequired(true);
    kryo.register(ModelMessagesV1.AcquireLease.class, 205);
    return kryo;
  }

  @Test
  void leaseRequestsCrossVersions() throws Exception {
    var now = new ModelEntity.AcquireLease("v1", "acme", null, "acme/adm-1", 1_234);
    assertEquals(new ModelMessagesV1.AcquireLease("v1", "acme", null),
        earlierNode().readObject(new Input(serializer.toBinary(now)), ModelMessagesV1.AcquireLease.class));
    assertEquals(now, serializer.fromBinary(serializer.toBinary(now), serializer.manifest(now)));

    Output earlier = new Output(256, -1);
    earlierNode().writeObject(earlier, new ModelMessagesV1.AcquireLease("v2", "acme", null));
    assertEquals(new ModelEntity.AcquireLease("v2", "acme", null, "", 0),
        serializer.fromBinary(earlier.toBytes(), ModelEntity.AcquireLease.class.getName()));
  }

  @Test
  void modelViewsCrossVersionsAndOnesFromEarlierNodesHaveNothingRetired() throws Exception {
    Kryo earlier = earlierNode();
    earlier.register(ModelMessagesV1.ModelView.class, 209);
    earlier.register(java.util.ArrayList.class, 21);
    var now = new ModelEntity.ModelView("m", "d", new java.util.ArrayList<>(), "v2", 1,
        new java.util.ArrayList<>(java.util.List.of("v1")));
    assertEquals(new ModelMessagesV1.ModelView("m", "d", new java.util.ArrayList<>(), "v2", 1),
        earlier.readObject(new Input(serializer.toBinary(now)), ModelMessagesV1.ModelView.class));
    assertEquals(now, serializer.fromBinary(serializer.toBinary(now), serializer.manifest(now)));
    Output out = new Output(256, -1);
    earlier.writeObject(out, new ModelMessagesV1.ModelView("m", "d", new java.util.ArrayList<>(), "v2", 1));
    var read = (ModelEntity.ModelView) serializer.fromBinary(out.toBytes(), ModelEntity.ModelView.class.getName());
    assertEquals(java.util.List.of(), read.retiredVersions());
  }
}
