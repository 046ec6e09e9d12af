package aimos.billing.webhook;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;

/**
 * Managing a tenant's webhook endpoints: register (the secret is shown once), list, read, disable, enable, delete,
 * rotate the secret (the previous one keeps signing for the overlap) and read deliveries with their attempts. Every
 * method takes the tenant the caller may act for; an endpoint of another tenant is simply not found.
 */
public final class WebhookEndpoints {
  private static final Pattern ENDPOINT_ID = Pattern.compile("ep_[0-9a-f]{16}");
  private static final SecureRandom RANDOM = new SecureRandom();
  static final int MAX_DESCRIPTION = 200;
  public static final int MAX_DELIVERIES = 200;

  private final WebhookStore store;
  private final WebhookSettings settings;
  private final TargetPolicy targets;
  private final Executor blocking;
  private final Clock clock;

  /** {@code blocking} runs the DNS look-ups of the SSRF check. */
  public WebhookEndpoints(WebhookStore store, WebhookSettings settings, Executor blocking, Clock clock) {
    this.store = store;
    this.settings = settings;
    this.targets = new TargetPolicy(settings.allowPrivateTargets());
    this.blocking = blocking;
    this.clock = clock;
  }

  /** An endpoint as the API shows it: never its secret. */
  public record EndpointView(String id, String url, String description, List<String> eventTypes, boolean enabled,
                             String disabledReason, String createdAt, String previousSecretValidUntil) {
    static EndpointView of(WebhookStore.Endpoint e, Instant now) {
      boolean overlapping = e.previousSecretUntil() != null && now.isBefore(e.previousSecretUntil());
      return new EndpointView(e.endpointId(), e.url(), e.description(), List.copyOf(new TreeSet<>(e.eventTypes())),
          e.enabled(), e.disabledReason(), e.createdAt().toString(),
          overlapping ? e.previousSecretUntil().toString() : null);
    }
  }

  /** A new endpoint or a rotated secret: the only time the secret is shown. */
  public record WithSecret(EndpointView endpoint, String secret, String note) {
    @Override
    public String toString() {
      return "WithSecret[" + endpoint + ", secret=***]";
    }
  }

  public record AttemptView(int attempt, String attemptedAt, int status, long durationMillis, String error,
                            String node) {}

  public record DeliveryView(String eventId, String webhookId, String type, String status, int attempts,
                             String nextAttemptAt, String lastError, String createdAt, String finishedAt,
                             List<AttemptView> attemptLog) {}

  public CompletionStage<WithSecret> register(String tenantId, String url, List<String> eventTypes,
                                              String description) {
    Set<String> types;
    String desc;
    try {
      types = eventTypes(eventTypes);
      desc = description(description);
      TargetPolicy.parse(url);
    } catch (TargetPolicy.Refused e) {
      return CompletableFuture.failedFuture(new WebhookException(WebhookException.Kind.INVALID, e.getMessage()));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return checkTarget(url).thenCompose(ok -> store.endpoints(tenantId)).thenCompose(existing -> {
      if (existing.size() >= settings.maxEndpointsPerTenant()) {
        throw new WebhookException(WebhookException.Kind.CONFLICT, "tenant " + tenantId + " already has "
            + existing.size() + " webhook endpoints (at most " + settings.maxEndpointsPerTenant() + "); delete one "
            + "first");
      }
      Instant now = clock.instant();
      String secret = WebhookSignature.newSecret();
      WebhookStore.Endpoint e = new WebhookStore.Endpoint(tenantId, newEndpointId(), url, desc, types, secret, null,
          null, true, null, now);
      return store.save(e).thenApply(d -> new WithSecret(EndpointView.of(e, now), secret,
          "the secret is shown once: keep it to verify the webhook-signature header"));
    });
  }

  public CompletionStage<List<EndpointView>> list(String tenantId) {
    Instant now = clock.instant();
    return store.endpoints(tenantId).thenApply(all -> all.stream().map(e -> EndpointView.of(e, now)).toList());
  }

  public CompletionStage<EndpointView> get(String tenantId, String endpointId) {
    return existing(tenantId, endpointId).thenApply(e -> EndpointView.of(e, clock.instant()));
  }

  public CompletionStage<EndpointView> disable(String tenantId, String endpointId) {
    return existing(tenantId, endpointId).thenCompose(e -> store.setEnabled(tenantId, endpointId, false,
        "disabled through the API at " + clock.instant())).thenCompose(d -> get(tenantId, endpointId));
  }

  /** Enables the endpoint again; the SSRF check runs again first, since the URL's addresses may have changed. */
  public CompletionStage<EndpointView> enable(String tenantId, String endpointId) {
    return existing(tenantId, endpointId).thenCompose(e -> checkTarget(e.url()))
        .thenCompose(ok -> store.setEnabled(tenantId, endpointId, true, null))
        .thenCompose(d -> get(tenantId, endpointId));
  }

  /** Deletes the endpoint; its pending deliveries are cancelled when their turn comes. */
  public CompletionStage<Map<String, Object>> delete(String tenantId, String endpointId) {
    return existing(tenantId, endpointId).thenCompose(e -> store.delete(tenantId, endpointId)).thenApply(d -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", endpointId);
      m.put("deleted", true);
      return m;
    });
  }

  /** A new secret; the current one becomes the previous one and also signs until the overlap ends. */
  public CompletionStage<WithSecret> rotateSecret(String tenantId, String endpointId) {
    return existing(tenantId, endpointId).thenCompose(e -> {
      Instant now = clock.instant();
      String secret = WebhookSignature.newSecret();
      WebhookStore.Endpoint rotated = new WebhookStore.Endpoint(e.tenantId(), e.endpointId(), e.url(),
          e.description(), e.eventTypes(), secret, e.secret(), now.plus(settings.secretRotationOverlap()),
          e.enabled(), e.disabledReason(), e.createdAt());
      return store.save(rotated).thenApply(d -> new WithSecret(EndpointView.of(rotated, now), secret,
          "the new secret is shown once; the previous one also signs until " + rotated.previousSecretUntil()
              + " (both signatures are sent)"));
    });
  }

  /** The endpoint's newest deliveries (at most {@code limit}, 1-200) with every attempt of each. */
  public CompletionStage<List<DeliveryView>> deliveries(String tenantId, String endpointId, Optional<String> limit) {
    int n;
    try {
      n = limit(limit);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return existing(tenantId, endpointId).thenCompose(e -> store.deliveries(tenantId, endpointId, n))
        .thenCompose(ds -> {
          List<CompletableFuture<DeliveryView>> views = new ArrayList<>();
          for (WebhookStore.Delivery d : ds) {
            views.add(store.attempts(tenantId, endpointId, d.eventId()).thenApply(as -> view(d, as))
                .toCompletableFuture());
          }
          return CompletableFuture.allOf(views.toArray(CompletableFuture[]::new))
              .thenApply(v -> views.stream().map(CompletableFuture::join).toList());
        });
  }

  private static DeliveryView view(WebhookStore.Delivery d, List<WebhookStore.Attempt> attempts) {
    return new DeliveryView(d.eventId(), d.webhookId(), d.type(), d.status().name().toLowerCase(), d.attempts(),
        d.status() == WebhookStore.Status.PENDING && d.nextAttemptAt() != null ? d.nextAttemptAt().toString() : null,
        d.lastError(), d.createdAt().toString(), d.finishedAt() == null ? null : d.finishedAt().toString(),
        attempts.stream().map(a -> new AttemptView(a.attempt(), a.attemptedAt().toString(), a.status(),
            a.durationMillis(), a.error(), a.node())).toList());
  }

  private CompletionStage<WebhookStore.Endpoint> existing(String tenantId, String endpointId) {
    if (endpointId == null || !ENDPOINT_ID.matcher(endpointId).matches()) {
      return CompletableFuture.failedFuture(new WebhookException(WebhookException.Kind.INVALID,
          "endpoint id must look like ep_0123456789abcdef, was '" + endpointId + "'"));
    }
    return store.endpoint(tenantId, endpointId).thenApply(e -> e.orElseThrow(() -> new WebhookException(
        WebhookException.Kind.NOT_FOUND, "tenant " + tenantId + " has no webhook endpoint " + endpointId)));
  }

  private CompletionStage<Void> checkTarget(String url) {
    return CompletableFuture.runAsync(() -> {
      try {
        targets.check(url);
      } catch (TargetPolicy.Refused e) {
        throw new WebhookException(WebhookException.Kind.INVALID, e.getMessage());
      }
    }, blocking);
  }

  static Set<String> eventTypes(List<String> requested) {
    if (requested == null) {
      return WebhookOutbox.EVENT_TYPES;
    }
    if (requested.isEmpty()) {
      throw new WebhookException(WebhookException.Kind.INVALID, "eventTypes must name at least one of "
          + new TreeSet<>(WebhookOutbox.EVENT_TYPES) + " (or be left out for all)");
    }
    Set<String> types = new TreeSet<>();
    for (String t : requested) {
      if (!WebhookOutbox.EVENT_TYPES.contains(t)) {
        throw new WebhookException(WebhookException.Kind.INVALID, "unknown event type '" + t + "'; known: "
            + new TreeSet<>(WebhookOutbox.EVENT_TYPES));
      }
      types.add(t);
    }
    return Set.copyOf(types);
  }

  private static String description(String d) {
    String s = d == null ? "" : d.strip();
    if (s.length() > MAX_DESCRIPTION) {
      throw new WebhookException(WebhookException.Kind.INVALID, "description must be at most " + MAX_DESCRIPTION
          + " characters, was " + s.length());
    }
    return s;
  }

  private static int limit(Optional<String> limit) {
    if (limit.isEmpty()) {
      return 50;
    }
    try {
      int n = Integer.parseInt(limit.get());
      if (n >= 1 && n <= MAX_DELIVERIES) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // refused below
    }
    throw new WebhookException(WebhookException.Kind.INVALID, "limit must be a whole number from 1 to "
        + MAX_DELIVERIES + ", was '" + limit.get() + "'");
  }

  private static String newEndpointId() {
    byte[] b = new byte[8];
    RANDOM.nextBytes(b);
    return "ep_" + HexFormat.of().formatHex(b);
  }
}
