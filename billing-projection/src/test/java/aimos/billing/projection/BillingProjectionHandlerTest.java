package aimos.billing.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;

import aimos.api.v1.BillingUnit;
import aimos.billing.ledger.InMemoryLedger;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.Plan;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.testkit.javadsl.ProjectionTestKit;
import org.apache.pekko.projection.testkit.javadsl.TestProjection;
import org.apache.pekko.projection.testkit.javadsl.TestSourceProvider;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class BillingProjectionHandlerTest {
  private static final ActorTestKit testKit = ActorTestKit.create();
  private final ProjectionTestKit projections = ProjectionTestKit.create(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static EventEnvelope<TenantEntity.Event> envelope(long offset, String tenant, long seq, TenantEntity.Event e) {
    return EventEnvelope.create(Sequence.apply(offset), TenantEntity.persistenceIdOf(tenant), seq, e,
        1_700_000_000_000L + seq);
  }

  private static TenantEntity.UsageRecorded usage(String tenant, String requestId, long prompt, long completion,
                                                  long before) {
    return new TenantEntity.UsageRecorded(tenant, requestId, "demo-text", "v1", BillingUnit.TOKENS, 20_000,
        Units.tokens(prompt, completion), before,
        // the charge is decided when usage is recorded; the projection copies it
        PriceCatalog.seed().chargeMicros(BillingUnit.TOKENS, 20_000, Units.tokens(prompt, completion), before),
        1000, 1_700_000_000_000L, "2026-11");
  }

  @Test
  void writesOnePricedRowPerUsageEventAndIgnoresOtherEvents() {
    InMemoryLedger ledger = new InMemoryLedger();
    AtomicLong lag = new AtomicLong(-1);
    List<EventEnvelope<TenantEntity.Event>> events = List.of(
        envelope(1, "acme", 1, new TenantEntity.TenantCreated("acme", "Acme", new Plan(1, 1, 1, 1), 0)),
        envelope(2, "acme", 2, usage("acme", "r1", 400, 600, 0)),
        envelope(3, "acme", 3, usage("acme", "r2", 1000, 0, 999_500)),
        // redelivery of the same event (at-least-once): the same row again
        envelope(3, "acme", 3, usage("acme", "r2", 1000, 0, 999_500)),
        envelope(4, "beta", 1, usage("beta", "r1", 1, 0, 0)));
    Source<EventEnvelope<TenantEntity.Event>, NotUsed> source = Source.from(events);
    var provider = TestSourceProvider.create(source, EventEnvelope::offset);
    var handler = new BillingProjectionHandler(ledger, PriceCatalog.seed(), lag::set);
    // the test projection hands envelopes over one at a time; the real one in groups
    var projection = TestProjection.<Offset, EventEnvelope<TenantEntity.Event>>create(
        ProjectionId.of("billing-test", "tag"), provider,
        () -> new org.apache.pekko.projection.javadsl.Handler<EventEnvelope<TenantEntity.Event>>() {
          @Override
          public java.util.concurrent.CompletionStage<org.apache.pekko.Done> process(
              EventEnvelope<TenantEntity.Event> envelope) {
            return handler.process(List.of(envelope));
          }
        });

    projections.run(projection, () -> {
      assertEquals(3, ledger.rows.size());
      var acme = ledger.rows(("acme"), "2026-11").toCompletableFuture().join();
      assertEquals(2, acme.size());
      long total = acme.stream().mapToLong(r -> r.chargeMicros()).sum();
      // r1: 1,000 tokens at full price; r2: 500 full + 500 discounted
      assertEquals(20_000 + 500 * 20 + 500 * 18, total);
      var report = ledger.usage("acme", "2026-11").toCompletableFuture().join();
      assertEquals(2, report.requests());
      assertEquals(1400, report.promptTokens());
      assertEquals(1, report.byModel().size());
      assertEquals(2000, report.byModel().get(0).tokens());
    });
    assertEquals(true, lag.get() >= 0);
  }

  @Test
  void handlesAGroupInOneLedgerWriteAndSkipsGroupsWithoutUsage() {
    InMemoryLedger ledger = new InMemoryLedger();
    var handler = new BillingProjectionHandler(ledger, PriceCatalog.seed(), x -> { });
    handler.process(List.of(
        envelope(1, "acme", 1, usage("acme", "r1", 1, 1, 0)),
        envelope(2, "acme", 2, new TenantEntity.PlanChanged(new Plan(1, 1, 1, 1))),
        envelope(3, "acme", 3, usage("acme", "r2", 2, 2, 2)))).toCompletableFuture().join();
    assertEquals(2, ledger.rows.size());
    assertEquals(40 + 80, ledger.rows.values().stream().mapToLong(r -> r.chargeMicros()).sum());
    handler.process(List.of(envelope(4, "acme", 4, new TenantEntity.PlanChanged(new Plan(1, 1, 1, 1)))))
        .toCompletableFuture().join();
    assertEquals(2, ledger.rows.size());
  }
}
