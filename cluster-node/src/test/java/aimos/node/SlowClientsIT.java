package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Clients that hold the servers' resources: bodies trickled or stalled after the headers are cut off at the
 * configured body timeout (well before the idle timeout), on the gateway (REST and gRPC) and the management port;
 * a flood of HTTP/2 stream resets closes its connection.
 */
class SlowClientsIT {
  private static TestCluster cluster;
  private static String key;
  private static Duration gatewayBody;
  private static Duration managementBody;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, """
        aimos.gateway.body-timeout = 2s
        aimos.management.body-timeout = 3s
        """);
    key = Http.tenantWithKey(cluster, "slow-co", 100_000, 64);
    var config = cluster.nodes.get(0).system().settings().config();
    gatewayBody = config.getDuration("aimos.gateway.body-timeout");
    managementBody = config.getDuration("aimos.management.body-timeout");
    // what the bodies are measured against: neither idle timeout may be what ends these connections
    assertTrue(config.getDuration("aimos.gateway.idle-timeout").compareTo(gatewayBody.multipliedBy(10)) > 0);
    assertTrue(config.getDuration("pekko.http.server.idle-timeout").compareTo(managementBody.multipliedBy(10)) > 0);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  /** What a client that sent its headers and then trickled its body saw: the answer's head, and when it came. */
  private record Cut(String head, Duration after, boolean closed) {}

  /**
   * Sends the request head announcing a 100 kB body, then one byte of it every 100 ms (so the connection never
   * idles), and reads until the server answers and closes the connection.
   */
  private static Cut trickle(int port, String head) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write((head + "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      long sent = System.nanoTime();
      CompletableFuture<Void> trickling = CompletableFuture.runAsync(() -> {
        try {
          // the client's pace, not a wait: slow enough to take minutes, fast enough never to idle
          for (int i = 0; i < 100_000 && !socket.isClosed(); i++) {
            TimeUnit.MILLISECONDS.sleep(100);
            out.write(' ');
            out.flush();
          }
        } catch (IOException | InterruptedException e) {
          // the server closed the connection
        }
      });
      InputStream in = socket.getInputStream();
      int first = in.read();
      Duration after = Duration.ofNanos(System.nanoTime() - sent);
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      answer.write(first);
      boolean closed = false;
      try {
        for (int b = in.read(); ; b = in.read()) {
          if (b < 0) {
            closed = true;
            break;
          }
          answer.write(b);
        }
      } catch (SocketException reset) {
        closed = true;
      } catch (SocketTimeoutException stillOpen) {
        closed = false;
      }
      socket.close();
      trickling.get(5, TimeUnit.SECONDS);
      return new Cut(answer.toString(StandardCharsets.UTF_8), after, closed);
    }
  }

  private static void assertCutAt(Duration timeout, Cut cut) {
    assertTrue(cut.head().startsWith("HTTP/1.1 408 "), cut.head());
    assertTrue(cut.head().contains("did not arrive within " + timeout.toMillis() + " ms"), cut.head());
    assertTrue(cut.after().compareTo(timeout) >= 0, "answered after " + cut.after());
    assertTrue(cut.after().compareTo(timeout.plusSeconds(3)) < 0, "answered after " + cut.after());
    assertTrue(cut.closed(), "the connection stays open after: " + cut.head());
  }

  @Test
  void aRestBodyTrickledInIsCutOffAtTheGatewaysBodyTimeout() throws Exception {
    Cut cut = trickle(cluster.nodes.get(0).gatewayPort(), "POST /v1/chat/completions HTTP/1.1\r\n"
        + "Host: 127.0.0.1\r\nAuthorization: Bearer " + key + "\r\n");
    assertCutAt(gatewayBody, cut);
    assertTrue(cut.head().contains("\"code\":408"), cut.head());
    System.out.println("gateway REST: 408 after " + cut.after().toMillis() + " ms (body timeout "
        + gatewayBody.toMillis() + " ms)");
  }

  @Test
  void anAdminBodyTrickledInIsCutOffAtTheManagementBodyTimeout() throws Exception {
    Cut cut = trickle(cluster.managementPort(0), "POST /admin/tenants HTTP/1.1\r\n"
        + "Host: 127.0.0.1\r\nAuthorization: Bearer " + TestCluster.ADMIN_TOKEN + "\r\n");
    assertCutAt(managementBody, cut);
    System.out.println("management: 408 after " + cut.after().toMillis() + " ms (body timeout "
        + managementBody.toMillis() + " ms)");
  }

  @Test
  void aGrpcCallWhoseMessageStallsEndsWithDeadlineExceeded() throws Exception {
    ActorSystem<Void> client = ActorSystem.create(Behaviors.empty(), "h2-client");
    try {
      var connection = org.apache.pekko.http.javadsl.Http.get(client).connectionTo("127.0.0.1").toPort(cluster.nodes.get(0).gatewayPort())
          .http2WithPriorKnowledge();
      ContentType grpc = ContentTypes.parse("application/grpc");
      // a gRPC frame header announcing a 100-byte message, then nothing more
      Source<ByteString, ?> stalled = Source.single(ByteString.fromArray(new byte[] {0, 0, 0, 0, 100}))
          .concat(Source.maybe());
      HttpRequest call = HttpRequest.POST("/aimos.v1.InferenceService/Infer")
          .addHeader(RawHeader.create("authorization", "Bearer " + key))
          .addHeader(RawHeader.create("te", "trailers"))
          .withEntity(HttpEntities.createChunked(grpc, stalled));
      long sent = System.nanoTime();
      HttpResponse response = Source.single(call).concat(Source.maybe()).via(connection)
          .runWith(Sink.head(), client).toCompletableFuture().get(30, TimeUnit.SECONDS);
      Duration after = Duration.ofNanos(System.nanoTime() - sent);
      assertEquals(200, response.status().intValue());
      assertEquals("4", response.getHeader("grpc-status").orElseThrow().value(), response.toString());
      assertTrue(response.getHeader("grpc-message").orElseThrow().value().contains("did not arrive"));
      assertTrue(after.compareTo(gatewayBody) >= 0, "answered after " + after);
      assertTrue(after.compareTo(gatewayBody.plusSeconds(3)) < 0, "answered after " + after);
      System.out.println("gateway gRPC: DEADLINE_EXCEEDED after " + after.toMillis() + " ms");
    } finally {
      client.terminate();
    }
  }

  @Test
  void aFloodOfHttp2StreamResetsClosesTheConnection() throws Exception {
    // a few cancelled calls are normal: the same frames, fewer of them, leave the connection serving
    assertTrue(answersPingAfterResets(10), "the connection was closed after 10 resets");
    assertTrue(!answersPingAfterResets(1000), "the connection still answers a PING after 1000 stream resets");
  }

  /**
   * Opens an h2c connection, opens and at once cancels {@code resets} streams (gRPC calls), as in CVE-2023-44487,
   * then sends a PING: true if it is answered, false if the server closed the connection (or sent GOAWAY) first.
   */
  private static boolean answersPingAfterResets(int resets) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", cluster.nodes.get(0).gatewayPort())) {
      socket.setSoTimeout(20_000);
      OutputStream out = socket.getOutputStream();
      int sent = 0;
      try {
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.write(frame(4, 0, 0, new byte[0]));
        for (; sent < resets; sent++) {
          int stream = 2 * sent + 1;
          out.write(frame(1, 0x4, stream, inferHeaders()));
          out.write(frame(3, 0, stream, ByteBuffer.allocate(4).putInt(8).array()));
        }
        out.write(frame(6, 0, 0, new byte[8]));
        out.flush();
      } catch (SocketException closedWhileSending) {
        System.out.println("rapid reset: connection closed after " + sent + " of " + resets + " resets sent");
        return false;
      }
      DataInputStream in = new DataInputStream(socket.getInputStream());
      try {
        while (true) {
          int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
          int type = in.readUnsignedByte();
          int flags = in.readUnsignedByte();
          in.readInt();
          in.skipNBytes(length);
          if (type == 7) {
            System.out.println("rapid reset: GOAWAY after " + resets + " resets sent");
            return false;
          }
          if (type == 6 && (flags & 1) != 0) {
            return true;
          }
        }
      } catch (EOFException | SocketException closed) {
        System.out.println("rapid reset: connection closed after " + resets + " resets sent");
        return false;
      }
    }
  }

  /** An HTTP/2 frame: 9-byte header, then the payload. */
  private static byte[] frame(int type, int flags, int stream, byte[] payload) {
    return ByteBuffer.allocate(9 + payload.length)
        .put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length)
        .put((byte) type).put((byte) flags).putInt(stream).put(payload).array();
  }

  /** HPACK, no Huffman coding and no dynamic table: a gRPC call's request head. */
  private static byte[] inferHeaders() {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(0x83); // :method POST
    b.write(0x86); // :scheme http
    literal(b, new byte[] {0x04}, "/aimos.v1.InferenceService/Infer"); // :path
    literal(b, new byte[] {0x01}, "127.0.0.1"); // :authority
    literal(b, new byte[] {0x0f, 0x10}, "application/grpc"); // content-type (static index 31)
    return b.toByteArray();
  }

  private static void literal(ByteArrayOutputStream b, byte[] nameIndex, String value) {
    b.writeBytes(nameIndex);
    b.write(value.length());
    b.writeBytes(value.getBytes(StandardCharsets.US_ASCII));
  }
}
