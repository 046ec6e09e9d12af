package aimos.model.sandbox;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Inside an upstream sandbox: a listener on the loopback of its own network namespace that carries each connection to
 * the node's {@link EgressRelay} over the unix socket named by {@value #ENV}. The runtime's HTTP client uses it as its
 * proxy, so the relay sees which host it asks for; it is the sandbox's only way out.
 */
public final class EgressForwarder implements AutoCloseable {
  /** The environment variable naming the relay's socket, relative to the sandbox's working directory. */
  public static final String ENV = "AIMOS_EGRESS_SOCKET";

  private final Path socket;
  private final ServerSocketChannel listener;
  private volatile boolean closed;

  private EgressForwarder(Path socket, ServerSocketChannel listener) {
    this.socket = socket;
    this.listener = listener;
  }

  /** The proxy to use in this sandbox: a forwarder to the relay when the node gave one, else none (direct). */
  public static Optional<ProxySelector> proxy(Map<String, String> env) throws IOException {
    String path = env.get(ENV);
    if (path == null || path.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(ProxySelector.of(start(Path.of(path)).address()));
  }

  static EgressForwarder start(Path socket) throws IOException {
    ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.INET);
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    EgressForwarder f = new EgressForwarder(socket, listener);
    Thread t = new Thread(f::acceptLoop, "egress-forwarder");
    t.setDaemon(true);
    t.start();
    return f;
  }

  public InetSocketAddress address() {
    try {
      return (InetSocketAddress) listener.getLocalAddress();
    } catch (IOException e) {
      throw new IllegalStateException("the egress forwarder is closed", e);
    }
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel local;
      try {
        local = listener.accept();
      } catch (IOException e) {
        return;
      }
      Thread t = new Thread(() -> carry(local), "egress-forward");
      t.setDaemon(true);
      t.start();
    }
  }

  private void carry(SocketChannel local) {
    SocketChannel relay = null;
    try {
      relay = SocketChannel.open(UnixDomainSocketAddress.of(socket));
      SocketChannel r = relay;
      Thread back = new Thread(() -> EgressRelay.pump(r, local), "egress-forward-back");
      back.setDaemon(true);
      back.start();
      EgressRelay.pump(local, relay);
      back.join();
    } catch (IOException e) {
      System.err.println("egress: the node's relay at " + socket + " is not reachable: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      EgressRelay.close(local);
      EgressRelay.close(relay);
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
  }
}
