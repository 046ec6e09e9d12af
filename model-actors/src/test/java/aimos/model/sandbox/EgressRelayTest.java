package aimos.model.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The node's side of an upstream sandbox's only way out, over a real unix socket to real TCP servers. */
class EgressRelayTest {
  private HttpServer provider;
  private HttpServer other;
  private final AtomicInteger providerRequests = new AtomicInteger();
  private final AtomicInteger otherRequests = new AtomicInteger();
  private final AtomicReference<String> providerSaw = new AtomicReference<>("");
  private Path dir;
  private EgressRelay relay;

  @BeforeEach
  void setUp() throws IOException {
    provider = server(providerRequests, providerSaw);
    other = server(otherRequests, new AtomicReference<>());
    dir = Files.createTempDirectory("egress");
    relay = EgressRelay.open(dir, URI.create("http://127.0.0.1:" + provider.getAddress().getPort() + "/v1"));
  }

  @AfterEach
  void tearDown() {
    relay.close();
    provider.stop(0);
    other.stop(0);
  }

  private static HttpServer server(AtomicInteger requests, AtomicReference<String> saw) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    s.createContext("/", ex -> {
      requests.incrementAndGet();
      saw.set(ex.getRequestMethod() + " " + ex.getRequestURI() + " key=" + ex.getRequestHeaders().getFirst("Authorization")
          + " connection=" + ex.getRequestHeaders().getFirst("Connection") + " proxy="
          + ex.getRequestHeaders().getFirst("Proxy-Connection"));
      byte[] body = ("answer to " + ex.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    s.start();
    return s;
  }

  private String provider() {
    return "127.0.0.1:" + provider.getAddress().getPort();
  }

  private String other() {
    return "127.0.0.1:" + other.getAddress().getPort();
  }

  /** Sends {@code head} over the relay's socket and returns all it answers until it closes. */
  private String exchange(String head) throws IOException {
    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(relay.socket()))) {
      ch.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.ISO_8859_1)));
      ch.shutdownOutput();
      return new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void aTunnelToTheProviderCarriesBytesBothWays() throws IOException {
    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(relay.socket()))) {
      ch.write(ByteBuffer.wrap(("CONNECT " + provider() + " HTTP/1.1\r\nHost: " + provider() + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1)));
      InputStream in = Channels.newInputStream(ch);
      assertEquals("HTTP/1.1 200 Connection established\r\n\r\n", new String(in.readNBytes(39),
          StandardCharsets.ISO_8859_1));
      ch.write(ByteBuffer.wrap(("GET /v1/models HTTP/1.1\r\nHost: " + provider() + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1)));
      String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      assertTrue(answer.startsWith("HTTP/1.1 200") && answer.endsWith("answer to /v1/models"), answer);
    }
    assertEquals(1, providerRequests.get());
    assertEquals(1, relay.relayed());
  }

  @Test
  void aPlainRequestInAbsoluteFormGoesToTheProviderInOriginFormOnePerConnection() throws IOException {
    String answer = exchange("POST http://" + provider() + "/v1/chat/completions?x=1 HTTP/1.1\r\nHost: " + provider()
        + "\r\nAuthorization: Bearer sk-own\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\n"
        + "Content-Length: 2\r\n\r\n{}");
    assertTrue(answer.startsWith("HTTP/1.1 200") && answer.endsWith("answer to /v1/chat/completions"), answer);
    assertEquals("POST /v1/chat/completions?x=1 key=Bearer sk-own connection=close proxy=null", providerSaw.get());
  }

  @Test
  void anyOtherTargetIsRefusedAndNothingIsConnected() throws IOException {
    try (ServerSocket node = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      AtomicInteger accepted = new AtomicInteger();
      ContainmentDrill.countConnections(node, accepted, "egress-test-node");
      for (String head : new String[] {
          "CONNECT 127.0.0.1:" + node.getLocalPort() + " HTTP/1.1\r\n\r\n",
          "CONNECT " + other() + " HTTP/1.1\r\n\r\n",
          "CONNECT localhost:" + provider.getAddress().getPort() + " HTTP/1.1\r\n\r\n",
          "CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n",
          "GET http://" + other() + "/ HTTP/1.1\r\nHost: " + other() + "\r\n\r\n",
          "GET https://" + provider() + "/ HTTP/1.1\r\n\r\n",
          "GET ftp://" + provider() + "/ HTTP/1.1\r\n\r\n"}) {
        String answer = exchange(head);
        assertTrue(answer.startsWith("HTTP/1.1 403 Forbidden\r\n"), head + " -> " + answer);
        assertTrue(answer.contains("this sandbox may reach " + provider() + " only"), answer);
      }
      assertEquals(0, accepted.get(), "connections the relay opened to the node's listener");
    }
    assertEquals(0, otherRequests.get());
    assertEquals(0, providerRequests.get(), "the provider under another name is not reached either");
    assertEquals(7, relay.refused());
    assertEquals(0, relay.relayed());
  }

  @Test
  void whatIsNotAProxyRequestIsRefusedAsSuch() throws IOException {
    assertTrue(exchange("GET /v1/models HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 403"), "origin form: no target");
    assertTrue(exchange("hello\r\n\r\n").startsWith("HTTP/1.1 400 Bad Request"));
    assertTrue(exchange("CONNECT " + provider() + " HTTP/1.1\r\nX: " + "a".repeat(EgressRelay.MAX_HEAD) + "\r\n\r\n")
        .startsWith("HTTP/1.1 431"));
    assertTrue(exchange("CONNECT " + provider() + " HTTP/1.1\r\n").startsWith("HTTP/1.1 431"), "a head cut short");
    assertEquals(0, providerRequests.get());
  }

  @Test
  void anHttpClientBehindTheSandboxsForwarderReachesItsProviderOnly() throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .proxy(EgressForwarder.proxy(Map.of(EgressForwarder.ENV, relay.socket().toString())).orElseThrow()).build();
    HttpResponse<String> ok = client.send(HttpRequest.newBuilder(URI.create("http://" + provider() + "/v1/models"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode());
    assertEquals("answer to /v1/models", ok.body());
    HttpResponse<String> refused = client.send(HttpRequest.newBuilder(URI.create("http://" + other() + "/x"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(403, refused.statusCode(), refused.body());
    assertThrows(IOException.class, () -> client.send(HttpRequest.newBuilder(URI.create("https://" + other() + "/"))
        .build(), HttpResponse.BodyHandlers.ofString()), "a tunnel elsewhere is refused");
    assertEquals(0, otherRequests.get());
    assertTrue(EgressForwarder.proxy(Map.of()).isEmpty(), "no relay named: no proxy");
  }

  @Test
  void closingRemovesTheSocketAndCutsOpenTunnels() throws IOException {
    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(relay.socket()))) {
      ch.write(ByteBuffer.wrap(("CONNECT " + provider() + " HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)));
      InputStream in = Channels.newInputStream(ch);
      in.readNBytes(39);
      relay.close();
      assertEquals(-1, in.read(), "the tunnel is cut");
    }
    assertFalse(Files.exists(relay.socket()));
    assertThrows(IOException.class, () -> SocketChannel.open(UnixDomainSocketAddress.of(relay.socket())));
  }

  @Test
  void aWorkDirTooDeepToBindAtStillGetsItsSocket() throws IOException {
    Path deep = dir.resolve("a".repeat(60)).resolve("b".repeat(60));
    try (EgressRelay far = EgressRelay.open(deep, URI.create("http://" + provider()))) {
      assertTrue(far.socket().toString().length() > 108, far.socket().toString());
      assertEquals(deep.toAbsolutePath().normalize(), far.socket().getParent());
      // connected by its name from its directory, as the sandbox does (here: through a short link to it)
      Path link = Files.createSymbolicLink(Files.createTempDirectory("e").resolve("l"), deep);
      try (SocketChannel ch = SocketChannel.open(
          UnixDomainSocketAddress.of(link.resolve(far.socketName())))) {
        ch.write(ByteBuffer.wrap(("CONNECT " + provider() + " HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)));
        assertEquals("HTTP/1.1 200", new String(Channels.newInputStream(ch).readNBytes(12),
            StandardCharsets.ISO_8859_1));
      }
    }
  }
}
