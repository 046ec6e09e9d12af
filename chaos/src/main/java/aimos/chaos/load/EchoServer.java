package aimos.chaos.load;

import aimos.api.v1.EchoMessage;
import aimos.api.v1.EchoService;
import aimos.api.v1.EchoServiceHandlerFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;

/** A bare Pekko gRPC echo service: the baseline for the metered path. */
public final class EchoServer {
  private EchoServer() {}

  public static CompletionStage<ServerBinding> bind(ActorSystem<?> system, String host, int port) {
    EchoService impl = in -> CompletableFuture.completedFuture(EchoMessage.newBuilder().setPayload(in.getPayload()).build());
    return Http.get(system).newServerAt(host, port).bind(EchoServiceHandlerFactory.create(impl, system));
  }
}
