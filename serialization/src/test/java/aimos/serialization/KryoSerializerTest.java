package aimos.serialization;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class KryoSerializerTest {
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.load());
  private static final Serialization serialization = SerializationExtension.get(testKit.system());

  public record Greeting(String text, long count, List<String> tags, ActorRef<String> replyTo)
      implements KryoSerializable {}

  public record Wrapper(Greeting inner, java.util.UUID unregisteredField) implements KryoSerializable {}

  public record Unregistered(String text) implements KryoSerializable {}

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static Object roundTrip(Object o) {
    var serializer = serialization.findSerializerFor(o);
    assertInstanceOf(KryoSerializer.class, serializer);
    byte[] bytes = serializer.toBinary(o);
    return serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, o)).get();
  }

  @Test
  void roundTripsRegisteredRecordsWithActorRefsAndImmutableLists() {
    TestProbe<String> probe = testKit.createTestProbe();
    Greeting g = new Greeting("hello", 42, List.of("a", "b"), probe.ref());
    Greeting back = (Greeting) roundTrip(g);
    assertEquals(g, back);
    back.replyTo().tell("reached");
    probe.expectMessage("reached");
  }

  @Test
  void refusesClassesThatAreNotRegistered() {
    var e = assertThrows(IllegalArgumentException.class, () -> roundTrip(new Unregistered("x")));
    assertTrue(e.getMessage().contains("not registered"), e.getMessage());
    // a registered record whose field holds an unregistered type is refused too
    TestProbe<String> probe = testKit.createTestProbe();
    assertThrows(RuntimeException.class,
        () -> roundTrip(new Wrapper(new Greeting("x", 1, List.of(), probe.ref()), java.util.UUID.randomUUID())));
  }

  @Test
  void refusesDuplicateIds() {
    var config = ConfigFactory.parseString("""
        aimos.serialization.kryo.registrations {
          "java.lang.String" = 5000
          "java.lang.Integer" = 5000
        }""");
    var e = assertThrows(IllegalArgumentException.class,
        () -> KryoSerializer.loadRegistrations(config, getClass().getClassLoader()));
    assertTrue(e.getMessage().contains("5000"));
  }

  @Test
  void javaSerializationIsOff() {
    assertEquals(false, testKit.system().settings().config().getBoolean("pekko.actor.allow-java-serialization"));
  }
}
