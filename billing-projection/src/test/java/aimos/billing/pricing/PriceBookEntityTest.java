package aimos.billing.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The price book entity, with commands and events round-tripped through their serializers. */
class PriceBookEntityTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  private static final long NOW = Instant.parse("2026-11-26T10:00:00Z").toEpochMilli();
  private static final Duration LEAD = Duration.ofSeconds(60);
  private static final PriceCatalog CONFIGURED = PriceCatalog.seed();
  private static final PriceCatalog DEARER = new PriceCatalog(30_000, 10_000, 100_000, 1_000_000, 10);

  /** A clock the test moves. */
  static final class TestClock extends Clock {
    final AtomicLong millis = new AtomicLong(NOW);

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }
  }

  private final TestClock clock = new TestClock();
  private EventSourcedBehaviorTestKit<PriceBookEntity.Command, PriceBookEntity.Event, PriceBook> kit;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), PriceBookEntity.create(CONFIGURED, LEAD, clock),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    kit.clear();
  }

  private EventSourcedBehaviorTestKit.CommandResultWithReply<PriceBookEntity.Command, PriceBookEntity.Event,
      PriceBook, PriceBookEntity.AddOutcome> add(long effectiveFrom, Map<String, Long> models) {
    return kit.runCommand(rt -> new PriceBookEntity.Add(new PriceListDraft(effectiveFrom, DEARER, models), rt));
  }

  @Test
  void theConfiguredPricesAreListOneInForceSinceTheEpochWrittenOnFirstUse() {
    var first = kit.<PriceBookEntity.Lists>runCommand(rt -> new PriceBookEntity.Since(0, rt));
    assertEquals(1, first.reply().version());
    assertEquals(List.of(new PriceList(1, 0, CONFIGURED, Map.of(), NOW)), first.reply().lists());
    assertEquals(1, first.events().size());
    var again = kit.<PriceBookEntity.Lists>runCommand(rt -> new PriceBookEntity.Since(1, rt));
    assertEquals(List.of(), again.reply().lists());
    assertTrue(again.events().isEmpty(), "list 1 is written once");
  }

  @Test
  void addsAListEffectiveAfterTheLeadAndKeepsItAcrossARestart() {
    var added = add(NOW + LEAD.toMillis(), Map.of("demo-text", 50_000L));
    var list = assertInstanceOf(PriceBookEntity.Added.class, added.reply()).list();
    assertEquals(2, list.id(), "list 1 (the configured prices) is written first");
    assertEquals(2, added.events().size());
    assertEquals(Map.of("demo-text", 50_000L), list.modelUnitPrices());
    assertEquals(NOW, list.addedAtMillis());

    kit.restart();
    assertEquals(2, kit.getState().version());
    assertEquals(2, kit.getState().inForceAt(NOW + LEAD.toMillis()).id());
    assertEquals(1, kit.getState().inForceAt(NOW + LEAD.toMillis() - 1).id());
  }

  @Test
  void refusesAListTooSoonOrNotAfterTheLatestAndWritesNothing() {
    var tooSoon = add(NOW + LEAD.toMillis() - 1, Map.of());
    var refused = assertInstanceOf(PriceBookEntity.Refused.class, tooSoon.reply());
    assertTrue(refused.reason().contains("too soon"), refused.reason());
    assertTrue(tooSoon.events().isEmpty(), "not even list 1 is written by a refused request");

    assertInstanceOf(PriceBookEntity.Added.class, add(NOW + 3_600_000, Map.of()).reply());
    clock.millis.addAndGet(1_000);
    var same = add(NOW + 3_600_000, Map.of());
    assertTrue(assertInstanceOf(PriceBookEntity.Refused.class, same.reply()).reason().contains("later than"));
    assertTrue(same.events().isEmpty());
    var earlier = add(NOW + 3_000_000, Map.of());
    assertInstanceOf(PriceBookEntity.Refused.class, earlier.reply());
    assertEquals(2, kit.getState().version());
  }

  @Test
  void sendsListsInPagesOfBoundedSize() {
    for (int i = 1; i <= 3; i++) {
      Map<String, Long> models = new HashMap<>();
      for (int m = 0; m < 600; m++) {
        models.put("model-" + m, (long) i);
      }
      assertInstanceOf(PriceBookEntity.Added.class, add(NOW + LEAD.toMillis() + i, models).reply());
    }
    var page = kit.<PriceBookEntity.Lists>runCommand(rt -> new PriceBookEntity.Since(0, rt)).reply();
    assertEquals(4, page.version());
    assertEquals(List.of(1L, 2L), page.lists().stream().map(PriceList::id).toList(),
        "list 3 would pass " + PriceBookEntity.PAGE_MODEL_PRICES + " model prices");
    var next = kit.<PriceBookEntity.Lists>runCommand(rt -> new PriceBookEntity.Since(2, rt)).reply();
    assertEquals(List.of(3L), next.lists().stream().map(PriceList::id).toList());
  }

  @Test
  void repliesCrossNodesThroughKryo() {
    var list = new PriceList(2, NOW, DEARER, Map.of("demo-text", 50_000L, "demo-vision", 1L), NOW);
    var serialization = new org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit(testKit.system());
    for (Object reply : List.of(new PriceBookEntity.Lists(List.of(list, new PriceList(1, 0, CONFIGURED, Map.of(), 0)), 2),
        new PriceBookEntity.Added(list), new PriceBookEntity.Refused("too soon"))) {
      assertEquals(reply, serialization.verifySerialization(reply, true));
    }
  }
}
