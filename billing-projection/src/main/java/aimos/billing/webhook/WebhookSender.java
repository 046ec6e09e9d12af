package aimos.billing.webhook;

import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.random.RandomGenerator;
import org.apache.pekko.Done;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of one pending delivery, and its outcome written back to the outbox: 2xx delivered; 410 Gone disables
 * the endpoint; anything else (another status, a timeout, a refused connection, a target that now resolves to an
 * internal address) is retried on the schedule until it runs out. Every attempt is logged with its status, duration
 * and error. The webhook id is the delivery's, so every attempt, from whichever node, carries the same one.
 */
public final class WebhookSender {
  private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);
  static final int MAX_ERROR_CHARS = 300;

  private final WebhookStore store;
  private final WebhookSettings settings;
  private final TargetPolicy targets;
  private final HttpClient http;
  private final Executor blocking;
  private final Clock clock;
  private final String node;
  private final WebhookMonitor monitor;
  private final RandomGenerator random = RandomGenerator.getDefault();

  public WebhookSender(WebhookStore store, WebhookSettings settings, Executor blocking, Clock clock, String node,
                       WebhookMonitor monitor) {
    this.store = store;
    this.settings = settings;
    this.targets = new TargetPolicy(settings.allowPrivateTargets());
    this.blocking = blocking;
    this.clock = clock;
    this.node = node;
    this.monitor = monitor;
    // no redirects: a 3xx is a failed attempt (the endpoint's URL should be updated instead)
    this.http = HttpClient.newBuilder().connectTimeout(settings.connectTimeout())
        .followRedirects(HttpClient.Redirect.NEVER).version(HttpClient.Version.HTTP_1_1).build();
  }

  /** Attempts the pending delivery if it is still pending and its endpoint still wants it. */
  public CompletionStage<Done> attempt(WebhookStore.Pending p) {
    return store.delivery(p.tenantId(), p.endpointId(), p.eventId()).thenCompose(d -> {
      if (d.isEmpty() || d.get().status() != WebhookStore.Status.PENDING) {
        return unschedule(p);
      }
      return store.endpoint(p.tenantId(), p.endpointId()).thenCompose(e -> {
        if (e.isEmpty()) {
          return finish(p, d.get(), WebhookStore.Status.CANCELLED, 0, "the endpoint was deleted");
        }
        if (!e.get().enabled()) {
          return finish(p, d.get(), WebhookStore.Status.CANCELLED, 0, "the endpoint is disabled: "
              + e.get().disabledReason());
        }
        return store.event(p.eventId()).thenCompose(ev -> ev.isEmpty()
            ? finish(p, d.get(), WebhookStore.Status.FAILED, 0, "the event is no longer stored")
            : send(p, d.get(), e.get(), ev.get()));
      });
    });
  }

  /** {@code retryAfter}: what the receiver asked for with {@code Retry-After} (seconds), or null. */
  private record Outcome(int status, String error, java.time.Duration retryAfter) {
    Outcome(int status, String error) {
      this(status, error, null);
    }
  }

  /** The longest {@code Retry-After} honoured: a receiver cannot park a delivery for longer. */
  static final java.time.Duration MAX_RETRY_AFTER = java.time.Duration.ofHours(10);

  private CompletionStage<Done> send(WebhookStore.Pending p, WebhookStore.Delivery d, WebhookStore.Endpoint e,
                                     WebhookStore.StoredEvent event) {
    int attempt = d.attempts() + 1;
    Instant started = clock.instant();
    long t0 = System.nanoTime();
    CompletableFuture<Outcome> outcome = CompletableFuture.supplyAsync(() -> targets.check(e.url()), blocking)
        .thenCompose(uri -> post(uri, d.webhookId(), e.signingSecrets(started), event.body(), started))
        .exceptionally(err -> new Outcome(0, describe(err)));
    return outcome.thenCompose(o -> {
      long millis = (System.nanoTime() - t0) / 1_000_000;
      WebhookStore.Attempt logged = new WebhookStore.Attempt(p.tenantId(), p.endpointId(), p.eventId(), attempt,
          d.webhookId(), started, o.status(), millis, o.error(), node);
      return store.log(logged).thenCompose(done -> decide(p, d, attempt, o, millis));
    });
  }

  private CompletableFuture<Outcome> post(URI uri, String webhookId, List<String> secrets, String body,
                                          Instant at) {
    long ts = at.getEpochSecond();
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(settings.requestTimeout())
        .header("Content-Type", "application/json")
        .header("User-Agent", "AIMOS-Webhooks/1")
        .header("webhook-id", webhookId)
        .header("webhook-timestamp", Long.toString(ts))
        .header("webhook-signature", WebhookSignature.header(secrets, webhookId, ts, body))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    // the response body is not read: the stream is closed as soon as the status is known
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream()).thenApply(r -> {
      closeQuietly(r.body());
      int s = r.statusCode();
      return new Outcome(s, s >= 200 && s < 300 ? null : "HTTP " + s,
          retryAfter(r.headers().firstValue("Retry-After").orElse(null)));
    });
  }

  private CompletionStage<Done> decide(WebhookStore.Pending p, WebhookStore.Delivery d, int attempt, Outcome o,
                                       long millis) {
    Instant now = clock.instant();
    boolean ok = o.status() >= 200 && o.status() < 300;
    monitor.attempted(ok ? "delivered" : o.status() == 410 ? "gone"
        : attempt >= settings.maxAttempts() ? "gave_up" : "retry", millis);
    if (ok) {
      return finish(p, withAttempt(d, attempt, o), WebhookStore.Status.DELIVERED, o.status(), null);
    }
    if (o.status() == 410) {
      log.info("Webhook endpoint {}/{} answered 410 Gone: disabled", p.tenantId(), p.endpointId());
      return store.setEnabled(p.tenantId(), p.endpointId(), false, "the receiver answered 410 Gone at " + now)
          .thenCompose(x -> finish(p, withAttempt(d, attempt, o), WebhookStore.Status.FAILED, 410,
              "410 Gone: the endpoint was disabled"));
    }
    if (attempt >= settings.maxAttempts()) {
      return finish(p, withAttempt(d, attempt, o), WebhookStore.Status.FAILED, o.status(),
          "gave up after " + attempt + " attempts; last: " + o.error());
    }
    java.time.Duration delay = settings.delayBefore(attempt + 1, random);
    // a receiver that asks for more time (429, 503 with Retry-After) gets it, up to a bound; never less than the schedule
    if (o.retryAfter() != null && o.retryAfter().compareTo(delay) > 0) {
      delay = o.retryAfter();
    }
    Instant next = now.plus(delay);
    WebhookStore.Delivery retry = new WebhookStore.Delivery(d.tenantId(), d.endpointId(), d.eventId(), d.webhookId(),
        d.type(), WebhookStore.Status.PENDING, attempt, next, o.status(), o.error(), d.createdAt(), null);
    // the delivery first, then the queue: a crash in between leaves the old due time, and the next attempt number
    // comes from the delivery, so nothing is counted twice
    return store.update(retry).thenCompose(x -> store.schedule(new WebhookStore.Pending(p.bucket(), p.tenantId(),
        p.endpointId(), p.eventId(), next)));
  }

  private static WebhookStore.Delivery withAttempt(WebhookStore.Delivery d, int attempt, Outcome o) {
    return new WebhookStore.Delivery(d.tenantId(), d.endpointId(), d.eventId(), d.webhookId(), d.type(), d.status(),
        attempt, d.nextAttemptAt(), o.status(), o.error(), d.createdAt(), d.finishedAt());
  }

  /** Writes the final status, then takes the row off the queue (a crash in between only finds it finished). */
  private CompletionStage<Done> finish(WebhookStore.Pending p, WebhookStore.Delivery d, WebhookStore.Status status,
                                       int httpStatus, String error) {
    WebhookStore.Delivery done = new WebhookStore.Delivery(d.tenantId(), d.endpointId(), d.eventId(), d.webhookId(),
        d.type(), status, d.attempts(), null, httpStatus, error, d.createdAt(), clock.instant());
    return store.update(done).thenCompose(x -> unschedule(p));
  }

  private CompletionStage<Done> unschedule(WebhookStore.Pending p) {
    return store.unschedule(p.bucket(), p.tenantId(), p.endpointId(), p.eventId());
  }

  /** What went wrong, for the attempt log: never a secret (requests carry signatures, not secrets). */
  static String describe(Throwable err) {
    Throwable t = err;
    while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    String s;
    if (t instanceof TargetPolicy.Refused) {
      s = "target refused: " + t.getMessage();
    } else if (t instanceof HttpConnectTimeoutException) {
      s = "connect timed out";
    } else if (t instanceof HttpTimeoutException) {
      s = "no answer within the request timeout";
    } else if (t instanceof ConnectException) {
      s = "connection refused or unreachable";
    } else {
      s = t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
    return s.length() > MAX_ERROR_CHARS ? s.substring(0, MAX_ERROR_CHARS) : s;
  }

  /** Retry-After in seconds (the HTTP-date form is ignored), capped at {@link #MAX_RETRY_AFTER}. */
  static java.time.Duration retryAfter(String header) {
    if (header == null || header.isBlank() || header.length() > 12) {
      return null;
    }
    try {
      long seconds = Long.parseLong(header.strip());
      if (seconds <= 0) {
        return null;
      }
      java.time.Duration d = java.time.Duration.ofSeconds(seconds);
      return d.compareTo(MAX_RETRY_AFTER) > 0 ? MAX_RETRY_AFTER : d;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (Exception ignored) {
      // the connection is dropped either way
    }
  }
}
