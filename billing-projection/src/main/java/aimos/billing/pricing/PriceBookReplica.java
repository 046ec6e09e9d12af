package aimos.billing.pricing;

import aimos.api.v1.BillingUnit;
import aimos.tenant.Units;
import aimos.tenant.UsagePricer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's copy of the price book, from which tenant entities price usage on their hot path without a remote
 * call. It asks the {@link PriceBookEntity} for lists it lacks every refresh interval.
 *
 * <p>Why the copy is exact: a list is accepted only if it takes effect at least the price-change lead after it was
 * added. A copy whose fetch started at time F therefore holds every list in force before F + lead. The copy notes F;
 * usage recorded later than F + lead (a node cut off from the price book for longer than the lead) is still priced
 * with the latest list the node knows, and the event says which, but it is counted and logged as stale.
 */
public final class PriceBookReplica implements UsagePricer {
  private static final Logger log = LoggerFactory.getLogger(PriceBookReplica.class);
  private static final long STALE_WARNING_INTERVAL_MILLIS = 60_000;

  /** The book as far as known here; {@code completeBeforeMillis}: every list in force before then is in it. */
  private record Copy(PriceBook book, long completeBeforeMillis, boolean loaded) {}

  private final PriceCatalog configured;
  private final Duration lead;
  private final Clock clock;
  private final IntFunction<CompletionStage<PriceBookEntity.Lists>> fetch;
  private final AtomicBoolean fetching = new AtomicBoolean();
  private final AtomicLong stalePricings = new AtomicLong();
  private volatile long lastStaleWarningMillis = Long.MIN_VALUE / 2;
  private volatile Copy copy;

  /**
   * @param fetch asks the price book for the lists after a version
   */
  public PriceBookReplica(PriceCatalog configured, Duration lead, Clock clock,
                          IntFunction<CompletionStage<PriceBookEntity.Lists>> fetch) {
    this.configured = configured;
    this.lead = lead;
    this.clock = clock;
    this.fetch = fetch;
    // until the first fetch: the configured prices, which is what list 1 holds on a new cluster
    this.copy = new Copy(PriceBook.of(List.of(new PriceList(1, 0, configured, Map.of(), 0))), Long.MIN_VALUE, false);
  }

  /** A copy of the cluster's price book, refreshed every {@code refreshInterval}. */
  public static PriceBookReplica start(ActorSystem<?> system, PricingSettings settings, Duration askTimeout) {
    PriceBookReplica replica = new PriceBookReplica(settings.configured(), settings.lead(), Clock.systemUTC(),
        version -> PriceBookEntity.ref(system).ask(rt -> new PriceBookEntity.Since(version, rt), askTimeout));
    system.scheduler().scheduleWithFixedDelay(Duration.ZERO, settings.refreshInterval(), () -> {
      if (replica.fetching.compareAndSet(false, true)) {
        replica.refresh().whenComplete((book, err) -> {
          replica.fetching.set(false);
          if (err != null) {
            log.debug("Price book refresh failed: {}", err.toString());
          }
        });
      }
    }, system.executionContext());
    return replica;
  }

  @Override
  public Charge charge(String model, BillingUnit unit, long versionUnitPriceMicros, Units units,
                       long monthTokensBefore, long recordedAtMillis) {
    Copy c = copy;
    if (recordedAtMillis >= c.completeBeforeMillis()) {
      noteStale(c, recordedAtMillis);
    }
    return c.book().inForceAt(recordedAtMillis).charge(model, unit, versionUnitPriceMicros, units, monthTokensBefore);
  }

  private void noteStale(Copy c, long at) {
    stalePricings.incrementAndGet();
    if (at - lastStaleWarningMillis >= STALE_WARNING_INTERVAL_MILLIS) {
      lastStaleWarningMillis = at;
      log.warn("Pricing usage with a price book copy that may lack lists in force at {} (complete only before {}): "
          + "this node has not reached the price book for longer than the price-change lead", Instant.ofEpochMilli(at),
          c.loaded() ? Instant.ofEpochMilli(c.completeBeforeMillis()) : "its first fetch");
    }
  }

  /** Fetches the lists this copy lacks; completes with the book as known here afterwards. */
  public CompletionStage<PriceBook> refresh() {
    long started = clock.millis();
    Copy base = copy;
    PriceBook from = base.loaded() ? base.book() : PriceBook.EMPTY;
    return fetchAfter(from).thenApply(book -> {
      install(new Copy(book, started + lead.toMillis(), true));
      return copy.book();
    });
  }

  private CompletionStage<PriceBook> fetchAfter(PriceBook known) {
    return fetch.apply(known.version()).thenCompose(page -> {
      PriceBook book = known;
      for (PriceList l : page.lists()) {
        if (l.id() == book.version() + 1) {
          book = book.with(l);
        }
      }
      if (book.version() >= page.version()) {
        return CompletableFuture.completedFuture(book);
      }
      // more pages: ask on, unless this page brought nothing (then the copy is not complete, and says so by failing)
      return book.version() > known.version() ? fetchAfter(book) : CompletableFuture.failedFuture(
          new IllegalStateException("the price book has " + page.version() + " lists but sent none after " + book.version()));
    });
  }

  private synchronized void install(Copy fetched) {
    Copy now = copy;
    if (!now.loaded()) {
      PriceList first = fetched.book().isEmpty() ? null : fetched.book().lists().get(0);
      if (first != null && !first.prices().equals(configured)) {
        log.warn("aimos.billing.prices differs from price list 1 of the cluster's price book ({}); the book wins: "
            + "change prices with POST /admin/prices", first.prices());
      }
    }
    if (fetched.book().isEmpty()) {
      return;
    }
    // both books are prefixes of the same list sequence (lists never change): keep the longer one, and the later
    // completeness, so that a slow, older fetch never takes back what a newer one brought
    if (!now.loaded()) {
      copy = fetched;
      return;
    }
    PriceBook longer = fetched.book().version() >= now.book().version() ? fetched.book() : now.book();
    copy = new Copy(longer, Math.max(now.completeBeforeMillis(), fetched.completeBeforeMillis()), true);
  }

  /** The book as known on this node. */
  public PriceBook book() {
    return copy.book();
  }

  /** Whether this node has fetched the book at least once (until then it prices with its configured prices). */
  public boolean loaded() {
    return copy.loaded();
  }

  /** Instants before this are priced by lists this node surely knows. */
  public long completeBeforeMillis() {
    return copy.completeBeforeMillis();
  }

  /** Usage priced here while the copy may have lacked a list in force (see the class comment). */
  public long stalePricings() {
    return stalePricings.get();
  }

  /** The list in force now, as known here: the defaults for model versions registered now. */
  public PriceList inForceNow() {
    return copy.book().inForceAt(clock.millis());
  }
}
