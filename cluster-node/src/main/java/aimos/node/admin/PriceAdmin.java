package aimos.node.admin;

import aimos.billing.pricing.PriceBook;
import aimos.billing.pricing.PriceBookEntity;
import aimos.billing.pricing.PriceBookReplica;
import aimos.billing.pricing.PriceList;
import aimos.billing.pricing.PriceListDraft;
import aimos.tenant.Money;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;

/** Adds and lists price lists through the price book entity, and reports this node's copy of the book. */
public final class PriceAdmin {
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final PriceBookReplica replica;
  private final Clock clock;

  public PriceAdmin(ActorSystem<?> system, Duration timeout, PriceBookReplica replica, Clock clock) {
    this.system = system;
    this.timeout = timeout;
    this.replica = replica;
    this.clock = clock;
  }

  public record VolumeDiscount(long thresholdTokens, int percent) {}

  /** One price list as the admin API shows it; amounts in dollars with six decimals. */
  public record PriceListView(long id, String effectiveFrom, String tokensPer1kUsd, String imageUsd,
                              String audioMinuteUsd, VolumeDiscount volumeDiscount, Map<String, String> models,
                              String addedAt, boolean inForce) {
    static PriceListView of(PriceList l, boolean inForce) {
      Map<String, String> models = new TreeMap<>();
      l.modelUnitPrices().forEach((m, micros) -> models.put(m, Money.format(micros)));
      return new PriceListView(l.id(), l.effectiveFrom().toString(), Money.format(l.prices().tokensPer1kMicros()),
          Money.format(l.prices().imageMicros()), Money.format(l.prices().audioMinuteMicros()),
          new VolumeDiscount(l.prices().discountThresholdTokens(), l.prices().discountPercent()), models,
          Instant.ofEpochMilli(l.addedAtMillis()).toString(), inForce);
    }
  }

  /**
   * This node's copy of the book: how many lists it holds, whether it was fetched at all, the instant before which
   * it surely holds every list in force, and how much usage it priced past that instant.
   */
  public record NodeCopy(int version, boolean loaded, String completeBefore, long stalePricings) {}

  /** Every list, the id of the one in force now, and this node's copy. */
  public record Prices(int version, long inForce, NodeCopy node, List<PriceListView> lists) {}

  /** Adds a list; a refusal (too soon, not after the latest list) fails with the reason, nothing written. */
  public CompletionStage<PriceListView> add(PriceListDraft draft) {
    return PriceBookEntity.ref(system).<PriceBookEntity.AddOutcome>ask(rt -> new PriceBookEntity.Add(draft, rt),
        timeout).thenCompose(outcome -> {
          if (outcome instanceof PriceBookEntity.Refused r) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(r.reason()));
          }
          PriceList added = ((PriceBookEntity.Added) outcome).list();
          // this node learns it now; the others at their next refresh, well within the lead
          replica.refresh();
          return CompletableFuture.completedFuture(PriceListView.of(added, false));
        });
  }

  public CompletionStage<Prices> list() {
    return fetchAll(PriceBook.EMPTY).thenApply(book -> {
      long now = clock.millis();
      long inForce = book.inForceAt(now).id();
      NodeCopy node = new NodeCopy(replica.book().version(), replica.loaded(),
          replica.loaded() ? Instant.ofEpochMilli(replica.completeBeforeMillis()).toString() : "",
          replica.stalePricings());
      return new Prices(book.version(), inForce, node,
          book.lists().stream().map(l -> PriceListView.of(l, l.id() == inForce)).toList());
    });
  }

  private CompletionStage<PriceBook> fetchAll(PriceBook known) {
    return PriceBookEntity.ref(system).<PriceBookEntity.Lists>ask(rt -> new PriceBookEntity.Since(known.version(), rt),
        timeout).thenCompose(page -> {
          PriceBook book = known;
          for (PriceList l : page.lists()) {
            book = book.with(l);
          }
          return book.version() < page.version() && !page.lists().isEmpty()
              ? fetchAll(book) : CompletableFuture.completedFuture(book);
        });
  }
}
