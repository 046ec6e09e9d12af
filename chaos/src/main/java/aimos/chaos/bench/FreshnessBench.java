package aimos.chaos.bench;

import aimos.chaos.stats.Latencies;
import aimos.api.v1.GetUsageRequest;
import aimos.api.v1.GetUsageResponse;
import aimos.api.v1.InferRequest;
import aimos.api.v1.InferResponse;
import aimos.api.v1.InferenceServiceClient;
import aimos.api.v1.TextInput;
import aimos.chaos.cli.Secrets;
import aimos.chaos.drill.AdminClient;
import aimos.chaos.tls.ClientTls;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;

/**
 * {@code bin/aimos bench freshness}: how long after its answer a metered request shows in the caller's own usage
 * ({@code GetUsage}, read from the rollups). Sends N requests at a fixed rate while one poller calls GetUsage back
 * to back; a request counts as visible at the end of the first GetUsage call, completed after its answer, whose
 * request count includes it. All times are taken on this client's monotonic clock, so node clocks do not matter.
 * The same run measures a bare GetUsage round trip, the resolution of the figure.
 */
public final class FreshnessBench {
  private FreshnessBench() {}

  static final String HELP = """
      Usage: bin/aimos bench freshness [options]
        with AIMOS_API_KEY (or --key-file F): the key of a tenant whose plan allows the rate; else
        with AIMOS_ADMIN_TOKEN (or --admin-token-file F): creates a tenant for the run (recommended: no other
        traffic then moves its usage)
        --gateway HOST:PORT     gateway (default 127.0.0.1:8080)
        --management HOST:PORT  management HTTP, to create the tenant (default 127.0.0.1:8558)
        --model NAME            model to call (default demo-text)
        --requests N            metered requests (default 200)
        --rate R                requests per second (default 10)
        --poll-interval MS      least time between GetUsage calls of the poller (default 20)
        --timeout S             how long to wait for the last request to show (default 60)
      TLS as the other tools: AIMOS_TLS_CA_FILE, the local CA of bin/aimos dev, or AIMOS_DEV_PLAINTEXT=1.
      """;

  /** One GetUsage call of the poller: sent and completed (nanoTime), the requests and tokens it showed. */
  record Poll(long sentNanos, long doneNanos, long requests, long tokens) {}

  /** Percentiles in milliseconds of nanosecond values. */
  record Summary(long count, double p50, double p90, double p99, double max) {
    static Summary of(long[] nanos) {
      return of(Latencies.of(nanos));
    }

    static Summary of(Latencies l) {
      return new Summary(l.count(), l.percentileMillis(50), l.percentileMillis(90), l.percentileMillis(99),
          l.maxMillis());
    }

    String row(String name) {
      return String.format("| %-38s | %8d | %9.1f | %9.1f | %9.1f | %9.1f |", name, count, p50, p90, p99, max);
    }
  }

  /**
   * Each answered request's freshness in nanoseconds, by the request count GetUsage showed: the k-th answer (in
   * answer order) is visible at the first poll that completed after it and shows at least {@code base + k} requests.
   * Per tenant, usage is folded in sequence order, which is the order the answers were metered in. Requests never
   * shown get -1.
   */
  static long[] freshness(long[] answeredNanos, List<Poll> polls, long base) {
    long[] answered = answeredNanos.clone();
    Arrays.sort(answered);
    long[] out = new long[answered.length];
    int j = 0;
    for (int k = 0; k < answered.length; k++) {
      while (j < polls.size() && (polls.get(j).doneNanos() < answered[k] || polls.get(j).requests() - base < k + 1)) {
        j++;
      }
      out[k] = j < polls.size() ? polls.get(j).doneNanos() - answered[k] : -1;
    }
    return out;
  }

  static Map<String, String> parse(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        m.put("help", "true");
        continue;
      }
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + a + "'; options start with --");
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("option " + a + " needs a value");
      }
      m.put(a.substring(2), args[++i]);
    }
    for (String k : m.keySet()) {
      if (!List.of("help", "gateway", "management", "model", "requests", "rate", "poll-interval", "timeout", "key",
          "key-file", "admin-token", "admin-token-file").contains(k)) {
        throw new IllegalArgumentException("unknown option --" + k);
      }
    }
    return m;
  }

  static int positive(Map<String, String> o, String name, int fallback, int max) {
    String v = o.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(v);
      if (n >= 1 && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // the message below
    }
    throw new IllegalArgumentException("--" + name + " must be a whole number from 1 to " + max + ", was '" + v + "'");
  }

  static String[] hostPort(String option, String v) {
    String[] p = v.split(":");
    if (p.length != 2 || p[0].isEmpty() || !p[1].matches("\\d{1,5}")) {
      throw new IllegalArgumentException("--" + option + " must look like HOST:PORT, was '" + v + "'");
    }
    return p;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> o;
    int requests;
    int rate;
    int pollMillis;
    int timeoutSeconds;
    String[] gateway;
    try {
      o = parse(args);
      requests = positive(o, "requests", 200, 1_000_000);
      rate = positive(o, "rate", 10, 10_000);
      pollMillis = positive(o, "poll-interval", 20, 10_000);
      timeoutSeconds = positive(o, "timeout", 60, 3_600);
      gateway = hostPort("gateway", o.getOrDefault("gateway", "127.0.0.1:8080"));
      hostPort("management", o.getOrDefault("management", "127.0.0.1:8558"));
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage() + " (see bin/aimos bench freshness --help)");
      System.exit(2);
      return;
    }
    if (o.containsKey("help")) {
      System.out.print(HELP);
      System.exit(0);
    }
    String key = Secrets.of(o, "key", "AIMOS_API_KEY");
    String adminToken = Secrets.of(o, "admin-token", "AIMOS_ADMIN_TOKEN");
    ClientTls tls = ClientTls.fromEnvironment();
    String run = Long.toString(System.currentTimeMillis(), 36);
    if (key.isEmpty()) {
      if (adminToken.isEmpty()) {
        System.out.print(HELP);
        System.exit(2);
      }
      AdminClient admin = new AdminClient(o.getOrDefault("management", "127.0.0.1:8558"), adminToken, "", tls);
      String tenant = "fresh-" + run;
      admin.admin("POST", "/admin/tenants", """
          {"id": "%s", "name": "freshness bench", "plan": {"requestsPerMinute": 10000000, "tokensPerMinute": 10000000000,
           "monthlyBudgetUsd": "1000000", "maxConcurrentRequests": 10000}}""".formatted(tenant));
      key = admin.admin("POST", "/admin/tenants/" + tenant + "/keys", null).get("apiKey").asText();
      System.out.println("Created tenant " + tenant + " for this run");
    }
    String model = o.getOrDefault("model", "demo-text");
    String bearer = "Bearer " + key;

    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench", ConfigFactory.parseString(
        "pekko.loglevel = WARNING\npekko.actor.provider = local").withFallback(ConfigFactory.load()));
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
    try {
      InferenceServiceClient client = InferenceServiceClient.create(tls.grpc(GrpcClientSettings.connectToServiceAt(
          gateway[0], Integer.parseInt(gateway[1]), system)), system);
      GetUsageRequest usageRequest = GetUsageRequest.getDefaultInstance();
      java.util.function.Supplier<GetUsageResponse> getUsage = () -> client.getUsage().addHeader("authorization",
          bearer).invoke(usageRequest).toCompletableFuture().join();

      // warm-up (connection, TLS, JIT) and the bare GetUsage round trip, one call at a time
      System.out.printf("Gateway %s:%s (%s), model %s; warming up%n", gateway[0], gateway[1],
          tls.enabled() ? "TLS" : "plaintext", model);
      long before = getUsage.get().getRequests();
      for (int i = 0; i < 5; i++) {
        String id = "fresh-" + run + "-warm-" + i;
        long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
        while (true) {
          try {
            infer(client, bearer, model, id).toCompletableFuture().join();
            break;
          } catch (RuntimeException e) {
            if (System.nanoTime() - deadline > 0) {
              throw e;
            }
            Thread.sleep(500);
          }
        }
      }
      Latencies bare = RuntimeBench.time(200, getUsage);
      Summary bareIdle = Summary.of(bare);

      // the warm-up requests must show before the run starts, or they would count as the run's
      long settleDeadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
      GetUsageResponse start = getUsage.get();
      while (start.getRequests() < before + 5) {
        if (System.nanoTime() - settleDeadline > 0) {
          System.err.printf("The 5 warm-up requests did not show in GetUsage within %d s (%d of them did)%n",
              timeoutSeconds, start.getRequests() - before);
          System.exit(1);
        }
        Thread.sleep(pollMillis);
        start = getUsage.get();
      }
      long base = start.getRequests();

      System.out.printf("Sending %d requests at %d/s while polling GetUsage every %d ms (from %d requests this "
          + "month)%n", requests, rate, pollMillis, base);
      List<Poll> polls = java.util.Collections.synchronizedList(new ArrayList<>());
      Map<Integer, Long> answeredAt = new ConcurrentHashMap<>();
      Map<Integer, Long> tokens = new ConcurrentHashMap<>();
      Map<String, Integer> failures = new ConcurrentHashMap<>();
      AtomicInteger sent = new AtomicInteger();
      AtomicInteger done = new AtomicInteger();
      long t0 = System.nanoTime();
      var sender = timer.scheduleAtFixedRate(() -> {
        int i = sent.getAndIncrement();
        if (i >= requests) {
          return;
        }
        infer(client, bearer, model, "fresh-" + run + "-" + i).whenComplete((r, e) -> {
          long now = System.nanoTime();
          if (e == null) {
            answeredAt.put(i, now);
            tokens.put(i, r.getUsage().getPromptTokens() + r.getUsage().getCompletionTokens());
          } else {
            Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
            failures.merge(c instanceof io.grpc.StatusRuntimeException s ? s.getStatus().getCode().toString()
                : c.getClass().getSimpleName(), 1, Integer::sum);
          }
          done.incrementAndGet();
        });
      }, 0, Math.max(1, 1_000_000_000L / rate), TimeUnit.NANOSECONDS);

      // the poller: GetUsage back to back, at least poll-interval apart, until every answer shows (or the timeout)
      long lastProgress = System.nanoTime();
      long waitUntil = Long.MAX_VALUE;
      while (true) {
        long sentAt = System.nanoTime();
        GetUsageResponse u;
        try {
          u = getUsage.get();
        } catch (RuntimeException e) {
          failures.merge("GetUsage " + e.getClass().getSimpleName(), 1, Integer::sum);
          Thread.sleep(pollMillis);
          continue;
        }
        long doneAt = System.nanoTime();
        polls.add(new Poll(sentAt, doneAt, u.getRequests(), u.getPromptTokens() + u.getCompletionTokens()));
        if (doneAt - lastProgress > 2_000_000_000L) {
          lastProgress = doneAt;
          System.out.printf("  %5.1f s: sent %d/%d, answered %d, failed %d, visible in GetUsage %d%n",
              (doneAt - t0) / 1e9, Math.min(sent.get(), requests), requests, answeredAt.size(),
              done.get() - answeredAt.size(), u.getRequests() - base);
        }
        if (done.get() >= requests) {
          if (waitUntil == Long.MAX_VALUE) {
            waitUntil = doneAt + Duration.ofSeconds(timeoutSeconds).toNanos();
            sender.cancel(false);
          }
          if (u.getRequests() - base >= answeredAt.size() || doneAt - waitUntil > 0) {
            break;
          }
        }
        long next = sentAt + TimeUnit.MILLISECONDS.toNanos(pollMillis) - System.nanoTime();
        if (next > 0) {
          TimeUnit.NANOSECONDS.sleep(next);
        }
      }
      long elapsed = System.nanoTime() - t0;

      long[] answered = answeredAt.values().stream().mapToLong(Long::longValue).toArray();
      long[] fresh = freshness(answered, polls, base);
      long missing = Arrays.stream(fresh).filter(f -> f < 0).count();
      long[] visible = Arrays.stream(fresh).filter(f -> f >= 0).sorted().toArray();
      long[] pollTrips = polls.stream().mapToLong(p -> p.doneNanos() - p.sentNanos()).sorted().toArray();
      Poll last = polls.get(polls.size() - 1);
      long answeredTokens = tokens.values().stream().mapToLong(Long::longValue).sum();
      long baseTokens = start.getPromptTokens() + start.getCompletionTokens();

      Summary s = Summary.of(visible);
      System.out.println();
      System.out.printf("%d requests in %.1f s (%d answered, %d failed%s), %d GetUsage polls%n", requests,
          elapsed / 1e9, answered.length, requests - answered.length, failures.isEmpty() ? "" : ": " + failures,
          polls.size());
      System.out.println("| measured                               | count    | p50 ms    | p90 ms    | p99 ms    "
          + "| max ms    |");
      System.out.println("| -------------------------------------- | -------- | --------- | --------- | --------- "
          + "| --------- |");
      System.out.println(s.row("answer -> visible in GetUsage"));
      System.out.println(Summary.of(pollTrips).row("GetUsage round trip during the run"));
      System.out.println(bareIdle.row("GetUsage round trip, idle (baseline)"));
      System.out.printf("usage shown at the end: %d requests, %d tokens; answered: %d requests, %d tokens%n",
          last.requests() - base, last.tokens() - baseTokens, answered.length, answeredTokens);
      if (missing > 0) {
        System.out.printf("%d answered requests did not show in GetUsage within %d s of the last answer%n", missing,
            timeoutSeconds);
      }
      System.out.printf("p99 %s 2 s%n", missing == 0 && s.p99() <= 2000 ? "within" : "NOT within");
      System.out.println("JSON " + String.format(java.util.Locale.ROOT,
          "{\"requests\": %d, \"answered\": %d, \"missing\": %d, \"rate\": %d, \"freshness_ms\": {\"p50\": %.1f, "
              + "\"p90\": %.1f, \"p99\": %.1f, \"max\": %.1f}, \"get_usage_ms\": {\"p50\": %.1f, \"p99\": %.1f}}",
          requests, answered.length, missing, rate, s.p50(), s.p90(), s.p99(), s.max(), bareIdle.p50(),
          bareIdle.p99()));
      System.exit(missing == 0 && answered.length > 0 ? 0 : 1);
    } finally {
      timer.shutdownNow();
      system.terminate();
    }
  }

  private static CompletionStage<InferResponse> infer(InferenceServiceClient client, String bearer, String model,
                                                      String requestId) {
    return client.infer().addHeader("authorization", bearer).invoke(InferRequest.newBuilder().setModel(model)
        .setRequestId(requestId).setText(TextInput.newBuilder().setPrompt("how fresh is my usage " + requestId)
            .setMaxTokens(16)).build());
  }
}
