package aimos.model.sandbox;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only way out of an upstream sandbox's network namespace: a unix socket in its work dir, served by the node, that
 * speaks the HTTP proxy protocol ({@code CONNECT host:port}, or a plain-HTTP request in absolute form, passed on in
 * origin form, one request per connection) and connects to one host and port only, its provider's. Anything else is answered {@code 403} and logged, and nothing is connected;
 * a head over {@value #MAX_HEAD} bytes is answered {@code 431}. DNS is resolved here, on the node: the sandbox has none.
 */
public final class EgressRelay implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EgressRelay.class);

  static final int MAX_HEAD = 8192;
  /** The longest path a unix socket can be bound at (108 bytes with the terminating zero). */
  private static final int MAX_SOCKET_PATH = 107;
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** How long a connection may take to send its head (and to hang up after a refusal). */
  private static final Duration HEAD_TIMEOUT = Duration.ofSeconds(10);
  /** Connections one sandbox may hold at once; more are closed as they arrive. */
  static final int MAX_CONNECTIONS = 64;
  private static final java.util.concurrent.ScheduledExecutorService DEADLINES =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "egress-relay-deadlines");
        t.setDaemon(true);
        return t;
      });

  private final Path socket;
  private final String host;
  private final int port;
  private final ServerSocketChannel server;
  private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong relayed = new AtomicLong();
  private final java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(MAX_CONNECTIONS);
  private volatile boolean closed;

  private EgressRelay(Path socket, String host, int port, ServerSocketChannel server) {
    this.socket = socket;
    this.host = host;
    this.port = port;
    this.server = server;
  }

  /**
   * Opens the relay at a socket of its own in {@code dir} (the sandbox's working directory: it connects by the
   * socket's name, {@link #socketName}) for connections to {@code target}'s host and port (the scheme's default port
   * when it names none), readable and writable by any uid (the sandbox's is not the node's). A name of its own: the
   * relay of a sandbox's previous process, closed when that process is gone, removes only its own socket.
   */
  public static EgressRelay open(Path dir, URI target) throws IOException {
    String host = target.getHost();
    if (host == null || host.isEmpty()) {
      throw new IOException("an egress target needs a host, " + target + " has none");
    }
    int port = target.getPort() >= 0 ? target.getPort() : defaultPort(target.getScheme());
    if (port < 0) {
      throw new IOException("an egress target is http or https, not " + target.getScheme() + " (" + target + ")");
    }
    Files.createDirectories(dir);
    Path socket = dir.toAbsolutePath().normalize()
        .resolve("egress-" + UUID.randomUUID().toString().substring(0, 8) + ".sock");
    ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      bind(server, socket);
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
    } catch (IOException e) {
      server.close();
      throw new IOException("the egress socket " + socket + " could not be opened: " + e.getMessage(), e);
    }
    EgressRelay relay = new EgressRelay(socket, unbracketed(host), port, server);
    Thread acceptor = new Thread(relay::acceptLoop, "egress-relay-" + dir.getFileName());
    acceptor.setDaemon(true);
    acceptor.start();
    log.info("Egress relay {}: the sandbox may reach {} only", socket, relay.target());
    return relay;
  }

  /** Binds at {@code socket}, through a short symlink to its directory when its path is too long to bind at. */
  private static void bind(ServerSocketChannel server, Path socket) throws IOException {
    if (socket.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH) {
      server.bind(UnixDomainSocketAddress.of(socket));
      return;
    }
    Path link = Path.of(System.getProperty("java.io.tmpdir"), "aimos-egress-" + UUID.randomUUID());
    Files.createSymbolicLink(link, socket.getParent());
    try {
      server.bind(UnixDomainSocketAddress.of(link.resolve(socket.getFileName())));
    } finally {
      Files.deleteIfExists(link);
    }
  }

  public Path socket() {
    return socket;
  }

  /** The socket's name in its directory. */
  public String socketName() {
    return socket.getFileName().toString();
  }

  /** The one host and port this relay connects to. */
  public String target() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** Connections refused so far (another target, or a head that is not a proxy request). */
  public long refused() {
    return refused.get();
  }

  /** Connections relayed to the target so far. */
  public long relayed() {
    return relayed.get();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        SocketChannel client = server.accept();
        if (!slots.tryAcquire()) {
          refused.incrementAndGet();
          log.warn("Egress relay {}: refused a connection: {} are open already", socket, MAX_CONNECTIONS);
          close(client);
          continue;
        }
        open.add(client);
        Thread t = new Thread(() -> serve(client), "egress-" + target());
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        if (!closed) {
          log.warn("Egress relay {}: accept failed: {}", socket, e.getMessage());
        }
        return;
      }
    }
  }

  private void serve(SocketChannel client) {
    SocketChannel upstream = null;
    // a blocking unix channel has no read timeout: a head that does not come in time closes the connection
    var deadline = DEADLINES.schedule(() -> close(client), HEAD_TIMEOUT.toMillis(),
        java.util.concurrent.TimeUnit.MILLISECONDS);
    try {
      ByteBuffer head = ByteBuffer.allocate(MAX_HEAD);
      int end = readHead(client, head);
      if (end < 0) {
        refuse(client, 431, "the request head is over " + MAX_HEAD + " bytes or ends early");
        return;
      }
      String first = new String(head.array(), 0, Math.max(0, lineEnd(head.array(), end)), StandardCharsets.ISO_8859_1);
      String[] parts = first.split(" ");
      if (parts.length != 3 || !parts[2].startsWith("HTTP/")) {
        refuse(client, 400, "not an HTTP proxy request");
        return;
      }
      boolean tunnel = parts[0].equals("CONNECT");
      URI asked;
      try {
        asked = URI.create(tunnel ? "//" + parts[1] : parts[1]);
      } catch (IllegalArgumentException e) {
        refuse(client, 400, "the request target is not a URI");
        return;
      }
      String askedHost = asked.getHost() == null ? "" : unbracketed(asked.getHost());
      int askedPort = asked.getPort() >= 0 ? asked.getPort() : tunnel ? -1 : defaultPort(asked.getScheme());
      boolean plain = tunnel || "http".equalsIgnoreCase(asked.getScheme());
      if (!plain || !askedHost.equalsIgnoreCase(host) || askedPort != port) {
        refuse(client, 403, "this sandbox may reach " + target() + " only, not " + parts[1]);
        return;
      }
      upstream = SocketChannel.open();
      upstream.socket().connect(new InetSocketAddress(host, port), (int) CONNECT_TIMEOUT.toMillis());
      if (!deadline.cancel(false)) {
        return;
      }
      open.add(upstream);
      head.flip();
      if (tunnel) {
        head.position(end);
        writeAll(client, ByteBuffer.wrap("HTTP/1.1 200 Connection established\r\n\r\n"
            .getBytes(StandardCharsets.ISO_8859_1)));
      } else {
        writeAll(upstream, ByteBuffer.wrap(originForm(head.array(), end, parts, asked)));
        head.position(end);
      }
      writeAll(upstream, head);
      relayed.incrementAndGet();
      SocketChannel up = upstream;
      Thread back = new Thread(() -> pump(up, client), "egress-back-" + target());
      back.setDaemon(true);
      back.start();
      pump(client, upstream);
      back.join();
    } catch (IOException e) {
      if (!closed) {
        log.debug("Egress relay {} to {}: {}", socket, target(), e.getMessage());
        if (upstream == null) {
          try {
            refuse(client, 502, "could not connect to " + target() + ": " + e.getMessage());
          } catch (IOException ignored) {
            // the sandbox went away
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      deadline.cancel(false);
      close(client);
      close(upstream);
      slots.release();
      open.remove(client);
      if (upstream != null) {
        open.remove(upstream);
      }
    }
  }

  /**
   * The head of a plain request as its server expects it: the request line in origin form, the proxy's own headers
   * dropped, and {@code Connection: close}, so that the client's next request (which may name another host) comes on
   * a new connection and is checked again.
   */
  private static byte[] originForm(byte[] head, int end, String[] requestLine, URI asked) {
    String path = asked.getRawPath() == null || asked.getRawPath().isEmpty() ? "/" : asked.getRawPath();
    StringBuilder out = new StringBuilder(requestLine[0]).append(' ').append(path)
        .append(asked.getRawQuery() == null ? "" : "?" + asked.getRawQuery()).append(' ').append(requestLine[2])
        .append("\r\n");
    String[] lines = new String(head, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
    for (int i = 1; i < lines.length; i++) {
      String name = lines[i].contains(":") ? lines[i].substring(0, lines[i].indexOf(':')).strip()
          .toLowerCase(Locale.ROOT) : "";
      if (!lines[i].isEmpty() && !name.equals("connection") && !name.startsWith("proxy-")
          && !name.equals("keep-alive")) {
        out.append(lines[i]).append("\r\n");
      }
    }
    return out.append("Connection: close\r\n\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  /** Reads until the head's blank line; returns the offset just after it, or -1 when the head is too long or cut. */
  private static int readHead(SocketChannel in, ByteBuffer head) throws IOException {
    int scanned = 0;
    while (head.hasRemaining()) {
      if (in.read(head) < 0) {
        return -1;
      }
      byte[] a = head.array();
      for (int i = Math.max(3, scanned); i < head.position(); i++) {
        if (a[i - 3] == '\r' && a[i - 2] == '\n' && a[i - 1] == '\r' && a[i] == '\n') {
          return i + 1;
        }
      }
      scanned = head.position();
    }
    return -1;
  }

  private static int lineEnd(byte[] a, int end) {
    for (int i = 0; i < end - 1; i++) {
      if (a[i] == '\r' && a[i + 1] == '\n') {
        return i;
      }
    }
    return end;
  }

  private void refuse(SocketChannel client, int status, String why) throws IOException {
    refused.incrementAndGet();
    log.warn("Egress relay {}: refused ({}): {}", socket, status, why);
    byte[] body = ("egress refused: " + why + "\n").getBytes(StandardCharsets.UTF_8);
    String reason = switch (status) {
      case 400 -> "Bad Request";
      case 403 -> "Forbidden";
      case 431 -> "Request Header Fields Too Large";
      default -> "Bad Gateway";
    };
    writeAll(client, ByteBuffer.wrap(("HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: text/plain\r\n"
        + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1)));
    writeAll(client, ByteBuffer.wrap(body));
    // read what the sandbox still sends (bounded, until it hangs up or the deadline closes it): closing a unix socket
    // with unread bytes would reset it before it reads the answer
    client.shutdownOutput();
    ByteBuffer sink = ByteBuffer.allocate(4096);
    try {
      for (int total = 0; total < 64 * 1024; total += sink.position()) {
        sink.clear();
        if (client.read(sink) < 0) {
          break;
        }
      }
    } catch (IOException e) {
      // closed by the deadline, or gone: the answer was sent
    }
  }

  /** Copies {@code from} to {@code to} until {@code from} ends, then ends {@code to}'s output. */
  static void pump(SocketChannel from, SocketChannel to) {
    ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
    try {
      while (from.read(buf) >= 0) {
        buf.flip();
        writeAll(to, buf);
        buf.clear();
      }
      to.shutdownOutput();
    } catch (IOException e) {
      // either side went away: the other is closed by the caller
      close(from);
      close(to);
    }
  }

  static void writeAll(SocketChannel to, ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      to.write(buf);
    }
  }

  static void close(SocketChannel c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }

  private static int defaultPort(String scheme) {
    if ("https".equalsIgnoreCase(scheme)) {
      return 443;
    }
    return "http".equalsIgnoreCase(scheme) ? 80 : -1;
  }

  private static String unbracketed(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    return h.toLowerCase(Locale.ROOT);
  }

  /** Stops accepting, cuts every relayed connection and removes the socket. */
  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    open.forEach(EgressRelay::close);
    open.clear();
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      log.debug("Egress socket {} not removed: {}", socket, e.getMessage());
    }
  }
}
