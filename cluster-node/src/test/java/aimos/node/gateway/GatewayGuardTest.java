package aimos.node.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.zip.GZIPOutputStream;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

class GatewayGuardTest {
  static ByteString frame(boolean compressed, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(5 + payload.length);
    b.put((byte) (compressed ? 1 : 0)).putInt(payload.length).put(payload).flip();
    return ByteString.fromByteBuffer(b);
  }

  static byte[] gzip(byte[] plain) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(plain);
    }
    return out.toByteArray();
  }

  @Test
  void inflatesCompressedMessagesAndHandsThemOnUncompressed() throws Exception {
    byte[] message = "a protobuf message, say".getBytes();
    ByteString out = GatewayGuard.uncompressed(frame(true, gzip(message)), "gzip", 1024);
    assertEquals(frame(false, message), out);
    ByteString plain = frame(false, message);
    assertEquals(plain, GatewayGuard.uncompressed(plain, "identity", 1024));
  }

  @Test
  void aSmallFrameThatInflatesPastTheLimitIsRefusedWithoutInflatingIt() throws Exception {
    byte[] bomb = gzip(new byte[32 * 1024 * 1024]);
    assertTrue(bomb.length < 64 * 1024, "32 MiB of zeros compress to " + bomb.length + " bytes");
    var refused = assertThrows(GatewayGuard.Refused.class,
        () -> GatewayGuard.uncompressed(frame(true, bomb), "gzip", 9 * 1024 * 1024));
    assertEquals(8, refused.code);
    assertTrue(refused.getMessage().contains("inflates to more than"), refused.getMessage());
  }

  @Test
  void aFrameDeclaringMoreThanTheLimitIsRefusedFromItsHeader() {
    ByteBuffer header = ByteBuffer.allocate(5).put((byte) 0).putInt(Integer.MAX_VALUE);
    header.flip();
    var refused = assertThrows(GatewayGuard.Refused.class,
        () -> GatewayGuard.uncompressed(ByteString.fromByteBuffer(header), "identity", 1024));
    assertEquals(8, refused.code);
    var cut = assertThrows(GatewayGuard.Refused.class,
        () -> GatewayGuard.uncompressed(frame(false, new byte[10]).take(9), "identity", 1024));
    assertEquals(13, cut.code);
    var unknown = assertThrows(GatewayGuard.Refused.class,
        () -> GatewayGuard.uncompressed(frame(true, new byte[10]), "snappy", 1024));
    assertEquals(12, unknown.code);
  }
}
