package aimos.serialization;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvolvedRecordSerializerTest {
  /** A message as nodes of the earlier version know it. */
  public record Admit(String secret, String requestId, long estimated, List<String> tags) {}

  /** The same message now: two components added in the middle of its declaration. */
  public record AdmitNow(String secret, String requestId, String fingerprint, boolean retried, long estimated,
                         List<String> tags) {}

  private static final int ID = 700;

  private static Kryo earlierNode() {
    Kryo kryo = new Kryo();
    kryo.setRegistrationRequired(true);
    kryo.register(java.util.ArrayList.class, 21);
    kryo.register(Admit.class, ID);
    return kryo;
  }

  private static Kryo laterNode() {
    Kryo kryo = new Kryo();
    kryo.setRegistrationRequired(true);
    kryo.register(java.util.ArrayList.class, 21);
    kryo.register(AdmitNow.class, new EvolvedRecordSerializer<>(AdmitNow.class, Admit.class), ID);
    kryo.register(Admit.class);
    return kryo;
  }

  private static byte[] write(Kryo kryo, Object o) {
    Output out = new Output(256, -1);
    kryo.writeObject(out, o);
    return out.toBytes();
  }

  @Test
  void anEarlierNodeReadsTheNewMessageAsItsOwnAndTheNewNodeReadsEarlierBytesWithDefaults() {
    var tags = new java.util.ArrayList<>(List.of("a", "b"));
    var now = new AdmitNow("s", "r-1", "fp", true, 42, tags);
    byte[] fromLater = write(laterNode(), now);
    assertEquals(new Admit("s", "r-1", 42, tags), earlierNode().readObject(new Input(fromLater), Admit.class));
    assertEquals(now, laterNode().readObject(new Input(fromLater), AdmitNow.class));

    byte[] fromEarlier = write(earlierNode(), new Admit("s", "r-2", 7, tags));
    assertEquals(new AdmitNow("s", "r-2", "", false, 7, tags),
        laterNode().readObject(new Input(fromEarlier), AdmitNow.class));
  }

  public record Renamed(String secretKey, String requestId, long estimated, List<String> tags) {}

  @Test
  void aRecordThatDroppedOrRetypedAnEarlierComponentIsRefused() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> new EvolvedRecordSerializer<>(Renamed.class, Admit.class));
    assertEquals(true, e.getMessage().contains("secret"), e.getMessage());
  }
}
