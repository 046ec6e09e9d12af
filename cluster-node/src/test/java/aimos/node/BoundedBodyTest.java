package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Real sockets, written as most clients write: the whole request first, then the answer read. */
class BoundedBodyTest {
  private static final int LIMIT = 64 * 1024;
  private static ActorSystem<Void> system;
  private static int port;

  @BeforeAll
  static void bind() throws Exception {
    system = ActorSystem.create(Behaviors.empty(), "bounded-body", ConfigFactory.parseString("""
        pekko.loglevel = WARNING
        pekko.actor.provider = local
        """).withFallback(ConfigFactory.load()));
    Route route = BoundedBody.atMost(LIMIT,
        () -> HttpResponse.create().withStatus(StatusCodes.PAYLOAD_TOO_LARGE).withEntity("over " + LIMIT),
        () -> Directives.entity(Unmarshaller.entityToString(), body -> Directives.complete("read " + body.length())));
    ServerBinding binding = org.apache.pekko.http.javadsl.Http.get(system).newServerAt("127.0.0.1", 0).bind(route)
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    port = binding.localAddress().getPort();
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  @Test
  void aBodyOverTheLimitIsReadToItsEndAndRefusedWith413OnAConnectionThatStaysOpen() throws Exception {
    // far more than the socket buffers of both sides hold: a server that stops reading resets this connection
    byte[] big = new byte[7 * 1024 * 1024];
    Arrays.fill(big, (byte) 'a');
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      java.io.InputStream in = socket.getInputStream();
      out.write(request(big.length, false));
      out.write(big);
      out.flush();
      Http.Reply refused = Http.readAnswer(in);
      assertEquals(413, refused.status(), refused.toString());
      assertTrue(refused.body().contains("over " + LIMIT), refused.toString());
      // a body read to its end leaves the connection usable
      assertEquals(List.of(), refused.headers().getOrDefault("connection", List.of()), refused.toString());

      out.write(request(5, false));
      out.write("hello".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Http.Reply next = Http.readAnswer(in);
      assertEquals(200, next.status(), next.toString());
      assertEquals("read 5", next.body());
    }
  }

  @Test
  void aBodyWithinTheLimitReachesTheRoute() throws Exception {
    byte[] body = new byte[LIMIT];
    Arrays.fill(body, (byte) 'b');
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      socket.getOutputStream().write(request(body.length, false));
      socket.getOutputStream().write(body);
      Http.Reply read = Http.readAnswer(socket.getInputStream());
      assertEquals(200, read.status(), read.toString());
      assertEquals("read " + LIMIT, read.body());
    }
  }

  @Test
  void aChunkedBodyIsCutOffWhereItPassesTheLimitAnd413ClosesTheConnection() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(request(-1, true));
      byte[] chunk = new byte[16 * 1024];
      Arrays.fill(chunk, (byte) 'c');
      // past the limit, but little enough to sit in the socket buffers whatever the server does with it
      for (int i = 0; i < 5; i++) {
        out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(chunk);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      out.flush();
      Http.Reply refused = Http.readAnswer(socket.getInputStream());
      assertEquals(413, refused.status(), refused.toString());
      assertEquals(List.of("close"), refused.headers().get("connection"), refused.toString());
    }
  }

  private static byte[] request(long length, boolean chunked) {
    return ("POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        + (chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + length + "\r\n") + "\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }
}
