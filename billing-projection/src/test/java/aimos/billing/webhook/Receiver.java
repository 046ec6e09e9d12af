package aimos.billing.webhook;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP webhook receiver on loopback (the JDK's server): records every request and answers with the next
 * scripted status (the last one repeats), or holds requests until {@link #release()} when told to hang.
 */
final class Receiver implements AutoCloseable {
  record Request(String webhookId, String timestamp, String signature, String body, int answered, long atNanos) {}

  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final ConcurrentLinkedQueue<Integer> script = new ConcurrentLinkedQueue<>();
  private volatile int last = 200;
  private final List<Request> requests = java.util.Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger arrived = new AtomicInteger();
  private volatile CountDownLatch hang;
  /** Sent with every failure when set. */
  volatile String retryAfter;

  Receiver(int... statuses) {
    for (int s : statuses) {
      script.add(s);
    }
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.setExecutor(threads);
    server.createContext("/hook", ex -> {
      arrived.incrementAndGet();
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      CountDownLatch h = hang;
      if (h != null) {
        try {
          h.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      Integer next = script.poll();
      int status = next != null ? next : last;
      if (next != null && script.isEmpty()) {
        last = next;
      }
      requests.add(new Request(ex.getRequestHeaders().getFirst("webhook-id"),
          ex.getRequestHeaders().getFirst("webhook-timestamp"), ex.getRequestHeaders().getFirst("webhook-signature"),
          body, status, System.nanoTime()));
      if (retryAfter != null && status >= 300) {
        ex.getResponseHeaders().add("Retry-After", retryAfter);
      }
      ex.sendResponseHeaders(status, -1);
      ex.close();
    });
    server.start();
  }

  static Receiver hanging() {
    Receiver r = new Receiver(200);
    r.hang = new CountDownLatch(1);
    return r;
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
  }

  /** Answers every later request with {@code status}. */
  void answer(int status) {
    script.clear();
    last = status;
  }

  void release() {
    CountDownLatch h = hang;
    hang = null;
    if (h != null) {
      h.countDown();
    }
  }

  /** Requests that arrived, answered or not. */
  int arrived() {
    return arrived.get();
  }

  List<Request> answered() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  List<Request> succeeded() {
    return answered().stream().filter(r -> r.answered() >= 200 && r.answered() < 300).toList();
  }

  @Override
  public void close() {
    release();
    server.stop(0);
    threads.shutdownNow();
  }
}
