package aimos.billing.projection;

import aimos.billing.ledger.LedgerRepository;
import aimos.billing.rollup.RollupRepository;
import aimos.billing.rollup.RollupRow;
import aimos.billing.rollup.RollupWriter;
import aimos.tenant.TenantEntity;
import aimos.tenant.directory.TenantDirectory;
import java.time.Clock;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.persistence.cassandra.query.javadsl.CassandraReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Runs one {@link UsageFeed} per usage tag, spread over the cluster by a sharded daemon process, each fed the notices
 * of its tag's topic. The process keeps the name the tag-query projection had, so that during a rolling upgrade a
 * tag's ledger and rollups have one writer, the old kind or the new, never both.
 */
public final class BillingProjection {
  public static final String NAME = "billing-ledger";

  private BillingProjection() {}

  public static void init(ActorSystem<?> system, UsageFeed.Parts parts, UsageNoticeTopics topics,
                          UsageFeed.Settings settings) {
    ShardedDaemonProcess.get(system).init(UsageFeed.Command.class, NAME, TenantEntity.TAG_COUNT, i -> {
      String tag = TenantEntity.TAGS.get(i);
      return Behaviors.<UsageFeed.Command>setup(ctx -> {
        topics.subscribe(tag, ctx.getSelf().narrow());
        return UsageFeed.create(tag, parts, settings);
      });
    }, ShardedDaemonProcessSettings.create(system), Optional.of(UsageFeed.Stop.INSTANCE));
  }

  /**
   * The feed's parts on this node: the Cassandra journal, the tenant directory, the ledger and the rollups. Each
   * feed start gets a fresh (cold) rollup cache, as the feed of a tag is the only writer of its tenants' rollups.
   */
  public static UsageFeed.Parts parts(ActorSystem<?> system, LedgerRepository ledger, RollupRepository rollups,
                                      ProjectionMonitor monitor, FeedOffsets offsets, Duration askTimeout) {
    CassandraReadJournal journal = PersistenceQuery.get(system)
        .getReadJournalFor(CassandraReadJournal.class, CassandraReadJournal.Identifier());
    return new UsageFeed.Parts() {
      @Override
      public CompletionStage<List<SequencedEvent>> eventsAfter(String tenantId, long after, int max) {
        return journal.currentEventsByPersistenceId(TenantEntity.persistenceIdOf(tenantId), after + 1, Long.MAX_VALUE)
            .take(max)
            .map(e -> new SequencedEvent(e.persistenceId(), e.sequenceNr(), (TenantEntity.Event) e.event()))
            .runWith(Sink.seq(), system);
      }

      @Override
      public CompletionStage<List<String>> tenantsFrom(int from) {
        return TenantDirectory.ref(system)
            .<TenantDirectory.Listing>ask(replyTo -> new TenantDirectory.Since(from, replyTo), askTimeout)
            .thenApply(TenantDirectory.Listing::ids);
      }

      @Override
      public CompletionStage<Long> initialOffset(String tenantId) {
        return BillingProjection.initialOffset(rollups, tenantId, Clock.systemUTC());
      }

      @Override
      public FeedOffsets offsets() {
        return offsets;
      }

      @Override
      public BillingProjectionHandler handler() {
        return new BillingProjectionHandler(ledger, new RollupWriter(rollups, RollupWriter.DEFAULT_CACHE_ROWS),
            monitor);
      }
    };
  }

  /**
   * Where a tenant without a saved offset starts: after the newest event its rollups of this month and the last hold
   * (what the tag-query projection of an earlier version got to), or at the start of its journal.
   */
  static CompletionStage<Long> initialOffset(RollupRepository rollups, String tenantId, Clock clock) {
    YearMonth month = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    return rollups.days(tenantId, month.toString()).thenCombine(rollups.days(tenantId, month.minusMonths(1).toString()),
        (now, before) -> Math.max(newest(now), newest(before)));
  }

  private static long newest(List<RollupRow> rows) {
    return rows.stream().mapToLong(RollupRow::lastSequenceNr).max().orElse(0);
  }
}
