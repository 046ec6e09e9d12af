package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Many usage records arriving together are written in batches, each still metered exactly once and in order. */
class UsageGroupCommitTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      PersistenceTestKitPlugin.getInstance().config().withFallback(ConfigFactory.load()));
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void concurrentRecordsAndRetriesAreWrittenOnceEachWithRunningMonthTotals() {
    var tenant = testKit.spawn(TenantEntity.create("burst", TenantEntity.Settings.defaults(), TenantEntityTest.PRICER));
    TestProbe<StatusReply<TenantEntity.Summary>> created = testKit.createTestProbe();
    tenant.tell(new TenantEntity.Create("Burst", TenantEntityTest.plan(1000, 1_000_000, 100_000_000, 100), created.ref()));
    assertTrue(created.receiveMessage().isSuccess());

    List<TestProbe<StatusReply<TenantEntity.Recorded>>> probes = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      TestProbe<StatusReply<TenantEntity.Recorded>> p = testKit.createTestProbe();
      probes.add(p);
      // request ids r0..r24 each arrive twice: the second is a retry of the first
      tenant.tell(new TenantEntity.RecordUsage("adm", "r" + (i % 25), "m", "v1", BillingUnit.TOKENS, 20_000,
          Units.tokens(30, 10), 1, p.ref()));
    }
    long replays = 0;
    long charged = 0;
    for (var p : probes) {
      TenantEntity.Recorded r = p.receiveMessage(Duration.ofSeconds(10)).getValue();
      if (r.replayed()) {
        replays++;
      } else {
        charged += r.chargeMicros();
      }
    }
    assertEquals(25, replays);
    var events = journal.persistedInStorage(TenantEntity.persistenceIdOf("burst"));
    var usage = events.stream().filter(e -> e instanceof TenantEntity.UsageRecorded)
        .map(e -> (TenantEntity.UsageRecorded) e).toList();
    assertEquals(25, usage.size());
    for (int i = 0; i < usage.size(); i++) {
      assertEquals(i * 40L, usage.get(i).monthTokensBefore(), "running month total before event " + i);
    }
    // the test pricer discounts past 1,000 tokens: 25 x 40 = 1,000 tokens, all at full price
    assertEquals(1000 * 20, charged);
    assertFalse(usage.stream().map(TenantEntity.UsageRecorded::requestId).distinct().count() < 25);

    TestProbe<StatusReply<TenantEntity.Summary>> summary = testKit.createTestProbe();
    tenant.tell(new TenantEntity.GetSummary(summary.ref()));
    var s = summary.receiveMessage().getValue();
    assertEquals(25, s.monthRequests());
    assertEquals(1000, s.monthTokens());
    assertInstanceOf(TenantEntity.Summary.class, s);
  }
}
