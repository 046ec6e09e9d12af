package aimos.billing.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.tenant.Units;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/** A node's copy of the price book: what it prices with, and when it knows it may lack a list. */
class PriceBookReplicaTest {
  private static final long T = Instant.parse("2026-11-26T10:00:00Z").toEpochMilli();
  private static final Duration LEAD = Duration.ofSeconds(60);
  private static final PriceCatalog CONFIGURED = PriceCatalog.seed();
  private static final PriceCatalog DEARER = new PriceCatalog(30_000, 10_000, 100_000, 1_000_000, 10);
  private static final Units THOUSAND = Units.tokens(500, 500);

  private final PriceBookEntityTest.TestClock clock = new PriceBookEntityTest.TestClock();
  /** The cluster's book, as the entity holds it. */
  private PriceBook truth = PriceBook.of(List.of(new PriceList(1, 0, CONFIGURED, Map.of(), 0)));
  private final List<Integer> asked = new ArrayList<>();
  private final PriceBookReplica replica = new PriceBookReplica(CONFIGURED, LEAD, clock, version -> {
    asked.add(version);
    return CompletableFuture.completedFuture(PriceBookEntity.page(truth, version));
  });

  private long charge(String model, long at) {
    return replica.charge(model, BillingUnit.TOKENS, 20_000, THOUSAND, 0, at).chargeMicros();
  }

  private void addList(long effectiveFrom, Map<String, Long> models) {
    truth = truth.with(PriceList.of(truth.version() + 1, new PriceListDraft(effectiveFrom, DEARER, models),
        clock.millis()));
  }

  @Test
  void pricesWithTheConfiguredPricesUntilLoadedAndCountsThatAsStale() {
    clock.millis.set(T);
    assertFalse(replica.loaded());
    assertEquals(20_000, charge("demo-text", T));
    assertEquals(1, replica.stalePricings());
    replica.refresh().toCompletableFuture().join();
    assertTrue(replica.loaded());
    assertEquals(T + LEAD.toMillis(), replica.completeBeforeMillis());
    assertEquals(20_000, charge("demo-text", T));
    assertEquals(1, replica.stalePricings(), "a loaded copy is complete until the lead has passed");
  }

  @Test
  void pricesEachInstantWithTheListInForceThenAndFetchesOnlyWhatItLacks() {
    clock.millis.set(T);
    replica.refresh().toCompletableFuture().join();
    long effective = T + LEAD.toMillis();
    addList(effective, Map.of("demo-text", 50_000L));
    clock.millis.set(T + 1_000);
    replica.refresh().toCompletableFuture().join();
    assertEquals(List.of(0, 1), asked, "the second refresh asks only for lists after the first");
    assertEquals(2, replica.book().version());

    assertEquals(new aimos.tenant.UsagePricer.Charge(20_000, 20_000, 1),
        replica.charge("demo-text", BillingUnit.TOKENS, 20_000, THOUSAND, 0, effective - 1));
    assertEquals(new aimos.tenant.UsagePricer.Charge(50_000, 50_000, 2),
        replica.charge("demo-text", BillingUnit.TOKENS, 20_000, THOUSAND, 0, effective));
    assertEquals(new aimos.tenant.UsagePricer.Charge(20_000, 20_000, 2),
        replica.charge("other", BillingUnit.TOKENS, 20_000, THOUSAND, 0, effective));
    assertEquals(1, replica.inForceNow().id(), "list 2 is not in force yet");
    assertEquals(0, replica.stalePricings());
  }

  @Test
  void aCopyNotRefreshedForLongerThanTheLeadKnowsItMayBeStale() {
    clock.millis.set(T);
    replica.refresh().toCompletableFuture().join();
    // a list added after the refresh takes effect a lead later: priced with list 1, and counted as stale
    clock.millis.set(T + 100);
    addList(T + 100 + LEAD.toMillis(), Map.of("demo-text", 30_000L));
    assertEquals(20_000, charge("demo-text", T + LEAD.toMillis() - 1));
    assertEquals(0, replica.stalePricings());
    assertEquals(20_000, charge("demo-text", T + 100 + LEAD.toMillis()));
    assertEquals(1, replica.stalePricings());
    clock.millis.set(T + 200);
    replica.refresh().toCompletableFuture().join();
    assertEquals(30_000, charge("demo-text", T + 100 + LEAD.toMillis()));
    assertEquals(1, replica.stalePricings());
  }

  @Test
  void readsEveryPageOfALongBookInOneRefresh() {
    clock.millis.set(T);
    for (int i = 1; i <= 3; i++) {
      Map<String, Long> models = new HashMap<>();
      for (int m = 0; m < 700; m++) {
        models.put("model-" + m, (long) i);
      }
      addList(T + LEAD.toMillis() + i, models);
    }
    replica.refresh().toCompletableFuture().join();
    assertEquals(4, replica.book().version());
    assertTrue(asked.size() >= 3, "pages: " + asked);
  }

  @Test
  void aSlowOlderFetchDoesNotTakeBackWhatANewerOneBrought() {
    clock.millis.set(T);
    replica.refresh().toCompletableFuture().join();
    CompletableFuture<PriceBookEntity.Lists> slow = new CompletableFuture<>();
    List<CompletableFuture<PriceBookEntity.Lists>> replies = new ArrayList<>(List.of(slow));
    PriceBookReplica controlled = new PriceBookReplica(CONFIGURED, LEAD, clock, version -> replies.isEmpty()
        ? CompletableFuture.completedFuture(PriceBookEntity.page(truth, version)) : replies.remove(0));
    var older = controlled.refresh();
    addList(T + LEAD.toMillis(), Map.of());
    clock.millis.set(T + 500);
    controlled.refresh().toCompletableFuture().join();
    assertEquals(2, controlled.book().version());
    slow.complete(PriceBookEntity.page(PriceBook.of(truth.lists().subList(0, 1)), 0));
    older.toCompletableFuture().join();
    assertEquals(2, controlled.book().version());
    assertEquals(T + 500 + LEAD.toMillis(), controlled.completeBeforeMillis());
  }

  @Test
  void aFailedFetchKeepsTheCopy() {
    clock.millis.set(T);
    replica.refresh().toCompletableFuture().join();
    PriceBookReplica failing = new PriceBookReplica(CONFIGURED, LEAD, clock,
        version -> CompletableFuture.failedFuture(new IllegalStateException("no answer")));
    assertThrows(CompletionException.class, () -> failing.refresh().toCompletableFuture().join());
    assertFalse(failing.loaded());
    assertEquals(20_000, failing.charge("demo-text", BillingUnit.TOKENS, 20_000, THOUSAND, 0, T).chargeMicros());
  }
}
