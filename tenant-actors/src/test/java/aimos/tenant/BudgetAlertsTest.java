package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Budget-alert thresholds: each crossed once per tenant-month, written with the usage, kept across restarts. */
class BudgetAlertsTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  private static final AtomicInteger ids = new AtomicInteger();
  /** 1,000 micro-dollars: a token costs 20 (TenantEntityTest.PRICER), so 25 tokens are 50 %. */
  private static final long BUDGET = 1000;
  private static final java.time.Clock CLOCK =
      java.time.Clock.fixed(java.time.Instant.parse("2026-11-26T10:00:00Z"), java.time.ZoneOffset.UTC);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static EventSourcedBehaviorTestKit<TenantEntity.Command, TenantEntity.Event, TenantState> kit(
      int snapshotEvery) {
    String tenantId = "budget-" + ids.incrementAndGet();
    var kit = EventSourcedBehaviorTestKit.<TenantEntity.Command, TenantEntity.Event, TenantState>create(
        testKit.system(), TenantEntity.create(tenantId, new TenantEntity.Settings(Duration.ofMinutes(1),
            Duration.ofMillis(500), CLOCK)
            .withSnapshotEvery(snapshotEvery), TenantEntityTest.PRICER),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    var created = kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Create("Budget",
        new Plan(1000, 1_000_000, BUDGET, 8), rt));
    assertTrue(created.reply().isSuccess());
    return kit;
  }

  private static String key(EventSourcedBehaviorTestKit<TenantEntity.Command, TenantEntity.Event, TenantState> kit) {
    String apiKey = kit.<StatusReply<TenantEntity.IssuedKey>>runCommand(TenantEntity.IssueKey::new).reply()
        .getValue().apiKey();
    return ApiKeys.parse(apiKey).orElseThrow().secret();
  }

  /** Admits and records a request of {@code tokens} tokens; returns the events of the usage's journal write. */
  private static List<TenantEntity.Event> use(
      EventSourcedBehaviorTestKit<TenantEntity.Command, TenantEntity.Event, TenantState> kit, String secret,
      String requestId, long tokens) {
    var admission = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret, requestId, 1, rt))
        .reply();
    var admitted = assertInstanceOf(TenantEntity.Admitted.class, admission);
    var result = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(
        admitted.admissionId(), requestId, "demo-text", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(tokens, 0),
        10, rt));
    assertTrue(result.reply().isSuccess(), () -> String.valueOf(result.reply()));
    return result.events();
  }

  private static List<Integer> crossings(List<TenantEntity.Event> events) {
    return events.stream().filter(e -> e instanceof TenantEntity.BudgetThresholdCrossed)
        .map(e -> ((TenantEntity.BudgetThresholdCrossed) e).percent()).toList();
  }

  private static TenantEntity.BudgetAlertStatus status(
      EventSourcedBehaviorTestKit<TenantEntity.Command, TenantEntity.Event, TenantState> kit) {
    return kit.<StatusReply<TenantEntity.BudgetAlertStatus>>runCommand(TenantEntity.GetBudgetAlerts::new).reply()
        .getValue();
  }

  @Test
  void eachDefaultThresholdIsCrossedOnceWithTheUsageThatCrossesItAcrossRestarts() {
    var kit = kit(0);
    String secret = key(kit);
    assertEquals(List.of(), crossings(use(kit, secret, "r1", 24)));
    List<TenantEntity.Event> half = use(kit, secret, "r2", 1);
    // the crossing is in the same journal write as the usage, right after it
    assertEquals(2, half.size());
    assertInstanceOf(TenantEntity.UsageRecorded.class, half.get(0));
    var crossed = assertInstanceOf(TenantEntity.BudgetThresholdCrossed.class, half.get(1));
    assertEquals(50, crossed.percent());
    assertEquals(500, crossed.spendMicros());
    assertEquals("r2", crossed.requestId());
    assertEquals(List.of(), crossings(use(kit, secret, "r3", 1)));

    kit.restart();
    assertEquals(List.of(50), status(kit).crossed());
    assertEquals(List.of(), crossings(use(kit, secret, "r4", 1)));
    // one request past two thresholds crosses both
    assertEquals(List.of(80, 100), crossings(use(kit, secret, "r5", 30)));
    kit.restart();
    TenantEntity.BudgetAlertStatus s = status(kit);
    assertEquals(List.of(50, 80, 100), s.crossed());
    assertTrue(s.defaults());
    // 100 % still stops admission
    var refused = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret, "r6", 1, rt)).reply();
    assertEquals(TenantEntity.Reason.MONTHLY_BUDGET, assertInstanceOf(TenantEntity.Rejected.class, refused).reason());
  }

  @Test
  void crossingsSurviveRecoveryFromASnapshot() {
    var kit = kit(2);
    String secret = key(kit);
    assertEquals(List.of(50), crossings(use(kit, secret, "r1", 26)));
    use(kit, secret, "r2", 1);
    use(kit, secret, "r3", 1);
    kit.restart();
    assertEquals(List.of(50), status(kit).crossed());
    assertEquals(List.of(), crossings(use(kit, secret, "r4", 1)));
    assertEquals(List.of(80), crossings(use(kit, secret, "r5", 12)));
  }

  @Test
  void thresholdsAreSetPerTenantAndBadListsChangeNothing() {
    var kit = kit(0);
    String secret = key(kit);
    for (List<Integer> bad : List.of(List.<Integer>of(), List.of(0), List.of(101), List.of(50, 50), List.of(80, 50),
        List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))) {
      var r = kit.<StatusReply<TenantEntity.BudgetAlertStatus>>runCommand(rt -> new TenantEntity.SetBudgetAlerts(bad,
          rt));
      assertTrue(r.reply().isError(), () -> "refused " + bad);
      assertTrue(r.events().isEmpty());
    }
    assertThrows(IllegalArgumentException.class, () -> BudgetAlerts.validate(Arrays.asList(10, null)));
    assertEquals(List.of(50, 80, 100), status(kit).percents());
    var set = kit.<StatusReply<TenantEntity.BudgetAlertStatus>>runCommand(rt -> new TenantEntity.SetBudgetAlerts(
        List.of(10, 90), rt));
    assertEquals(List.of(10, 90), set.reply().getValue().percents());
    assertFalse(set.reply().getValue().defaults());
    assertEquals(List.of(10), crossings(use(kit, secret, "r1", 5)));
    assertEquals(List.of(), crossings(use(kit, secret, "r2", 30)));
    kit.restart();
    assertEquals(List.of(10, 90), status(kit).percents());
    assertEquals(List.of(90), crossings(use(kit, secret, "r3", 10)));
  }

  @Test
  void aNewMonthStartsWithNoCrossings() {
    var alerts = new BudgetAlerts();
    alerts.crossed("2026-11", 50);
    MonthToDate month = new MonthToDate();
    month.add("2026-11", 30, 600);
    Plan plan = new Plan(1, 1, BUDGET, 1);
    var events = alerts.withCrossings(month, plan, List.of(
        new TenantEntity.UsageRecorded("t", "a", "m", "v", BillingUnit.TOKENS, 1, Units.tokens(1, 0), 0, 100, 1, 1,
            "2026-11"),
        new TenantEntity.UsageRecorded("t", "b", "m", "v", BillingUnit.TOKENS, 1, Units.tokens(1, 0), 0, 500, 1, 2,
            "2026-12")));
    // November: 700 of 1,000 crosses nothing new (50 % was crossed before); December starts at 0 and crosses 50 %
    assertEquals(List.of(50), crossings(events));
    assertEquals("2026-12", ((TenantEntity.BudgetThresholdCrossed) events.get(2)).month());
    assertTrue(BudgetAlerts.reached(500, 1000, 50));
    assertFalse(BudgetAlerts.reached(499, 1000, 50));
    assertTrue(BudgetAlerts.reached(1, 3, 33));
    assertFalse(BudgetAlerts.reached(1, 3, 34));
  }
}
