package aimos.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A management API on loopback that answers canned JSON and records what it was asked. */
final class FakeManagement implements AutoCloseable {
  record Call(String method, String uri, String authorization, String body) {}

  record Answer(int status, String body) {}

  final List<Call> calls = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Map<String, Answer> answers = new ConcurrentHashMap<>();
  private final HttpServer server;

  FakeManagement() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      String uri = exchange.getRequestURI().toString();
      calls.add(new Call(exchange.getRequestMethod(), uri, exchange.getRequestHeaders().getFirst("Authorization"),
          body));
      Answer a = answers.getOrDefault(exchange.getRequestMethod() + " " + uri,
          new Answer(404, "{\"error\":{\"code\":404,\"message\":\"no such admin route\"}}"));
      byte[] bytes = a.body().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(a.status(), bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    server.start();
  }

  FakeManagement answer(String methodAndUri, int status, String body) {
    answers.put(methodAndUri, new Answer(status, body));
    return this;
  }

  String address() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  Call last() {
    return calls.get(calls.size() - 1);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
