package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The entity prices usage once, when it records it, with what the pricer says for the model and the entity's clock at
 * that instant, and the event keeps the price list and the unit price that decided the charge.
 */
class UsagePricingTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  private static final long CHANGE = Instant.parse("2026-11-15T00:00:00Z").toEpochMilli();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  /**
   * List 1 before CHANGE prices at the version's price; list 2 from CHANGE on prices "special" at 50 micro-dollars a
   * token and every other model at its version's price plus one.
   */
  private static final UsagePricer TWO_LISTS = (model, unit, versionPrice, units, before, at) -> {
    if (at < CHANGE) {
      return new UsagePricer.Charge(versionPrice, versionPrice * units.tokens() / 1000, 1);
    }
    long price = model.equals("special") ? 50_000 : versionPrice + 1;
    return new UsagePricer.Charge(price, price * units.tokens() / 1000, 2);
  };

  @Test
  void chargesWithTheListInForceAtTheRecordingInstantAndRecordsIt() {
    ManualClock clock = new ManualClock(Instant.EPOCH);
    clock.millis.set(CHANGE - 1);
    var kit = EventSourcedBehaviorTestKit.<TenantEntity.Command, TenantEntity.Event, TenantState>create(
        testKit.system(), TenantEntity.create("pricing-1", new TenantEntity.Settings(Duration.ofMinutes(1),
            Duration.ofMillis(500), clock), TWO_LISTS),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    assertTrue(kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Create("P",
        new Plan(1000, 1_000_000, 1_000_000_000, 8), rt)).reply().isSuccess());
    String key = kit.<StatusReply<TenantEntity.IssuedKey>>runCommand(TenantEntity.IssueKey::new).reply().getValue()
        .apiKey();

    TenantEntity.UsageRecorded before = record(kit, key, "r-before", "special");
    assertEquals(1, before.priceListId());
    assertEquals(20_000, before.unitPriceMicros());
    assertEquals(20_000, before.chargeMicros());
    assertEquals(CHANGE - 1, before.recordedAtMillis());

    clock.millis.set(CHANGE);
    TenantEntity.UsageRecorded after = record(kit, key, "r-after", "special");
    assertEquals(2, after.priceListId());
    assertEquals(50_000, after.unitPriceMicros(), "the list's price for the model replaces the version's");
    assertEquals(50_000, after.chargeMicros());
    TenantEntity.UsageRecorded other = record(kit, key, "r-other", "plain");
    assertEquals(20_001, other.unitPriceMicros());

    // a retry of the early request is answered with its first charge, whatever is in force now
    var replay = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage("", "r-before",
        "special", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(500, 500), 10, rt));
    assertEquals(20_000, replay.reply().getValue().chargeMicros());
    assertTrue(replay.events().isEmpty());

    kit.restart();
    var summary = kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply().getValue();
    assertEquals(20_000 + 50_000 + 20_001, summary.monthSpendMicros());
  }

  private static TenantEntity.UsageRecorded record(
      EventSourcedBehaviorTestKit<TenantEntity.Command, TenantEntity.Event, TenantState> kit, String key,
      String requestId, String model) {
    var admitted = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(
        ApiKeys.parse(key).orElseThrow().secret(), requestId, 1000, rt));
    assertTrue(admitted.reply() instanceof TenantEntity.Admitted, () -> String.valueOf(admitted.reply()));
    var id = ((TenantEntity.Admitted) admitted.reply()).admissionId();
    var result = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(id, requestId,
        model, "v1", BillingUnit.TOKENS, 20_000, Units.tokens(500, 500), 10, rt));
    // the usage is written by the batch's flush, before the reply
    return (TenantEntity.UsageRecorded) kit.persistenceTestKit()
        .persistedInStorage(TenantEntity.persistenceIdOf("pricing-1")).stream()
        .filter(e -> e instanceof TenantEntity.UsageRecorded u && u.requestId().equals(requestId))
        .findFirst().orElseThrow(() -> new AssertionError("no usage event for " + requestId + ": " + result));
  }
}
