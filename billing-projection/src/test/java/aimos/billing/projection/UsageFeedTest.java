package aimos.billing.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.billing.BillingStore;
import aimos.billing.ledger.CassandraLedgerRepository;
import aimos.billing.ledger.LedgerReader;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.rollup.CassandraRollupRepository;
import aimos.billing.rollup.RollupWriter;
import aimos.billing.rollup.UsageQueries;
import aimos.tenant.Plan;
import aimos.tenant.TenantEntity;
import aimos.tenant.Units;
import aimos.tenant.UsageNotices;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The billing feed on a real Cassandra journal, ledger and rollups. */
class UsageFeedTest {
  private static final String TAG = TenantEntity.TAGS.get(3);
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final UsageFeed.Settings FAST = new UsageFeed.Settings(Duration.ofMillis(50), Duration.ofMillis(400),
      Duration.ofMinutes(5), 64, 200);
  private static final AtomicInteger names = new AtomicInteger();
  private static BillingStore store;
  private static CassandraLedgerRepository ledger;
  private static CassandraRollupRepository rollups;
  private static UsageQueries usage;
  private static FeedOffsets offsets;

  @BeforeAll
  static void start() {
    store = new BillingStore("feed_test");
    ledger = store.ledger(CassandraLedgerRepository.DEFAULT_BUCKET_SIZE);
    rollups = store.rollups();
    usage = new UsageQueries(rollups);
    offsets = new FeedOffsets(store.session, store.keyspace);
  }

  @AfterAll
  static void stop() {
    store.close();
  }

  /** A new tenant id of {@link #TAG}. */
  private static String tenant(String name) {
    while (true) {
      String id = name + "-" + names.incrementAndGet();
      if (TenantEntity.tagFor(id).equals(TAG)) {
        return id;
      }
    }
  }

  private static String month() {
    return YearMonth.now(ZoneOffset.UTC).toString();
  }

  /** A created tenant with {@code count} usage events (sequence numbers 2 to count + 1). */
  private static void created(String tenant, int count) {
    List<TenantEntity.Event> events = new ArrayList<>();
    events.add(new TenantEntity.TenantCreated(tenant, "T", new Plan(1, 1, 1, 1), 0));
    events.addAll(used(tenant, 0, count));
    store.append(tenant, events);
  }

  /** Usage events numbered {@code from + 1} to {@code from + count}, one token each. */
  private static List<TenantEntity.Event> used(String tenant, int from, int count) {
    List<TenantEntity.Event> events = new ArrayList<>();
    for (int i = from + 1; i <= from + count; i++) {
      events.add(new TenantEntity.UsageRecorded(tenant, "r" + i, "demo-text", "v1", BillingUnit.TOKENS, 20_000,
          Units.tokens(1, 0), 0, 20, 1000, System.currentTimeMillis(), month()));
    }
    return events;
  }

  private record Read(String tenantId, long after, long atNanos) {}

  /** The reads of one tenant (a feed also reads the other tenants of its tag that have saved offsets). */
  private static List<Read> of(String tenant, List<Read> reads) {
    return reads.stream().filter(r -> r.tenantId().equals(tenant)).toList();
  }

  /**
   * The node's parts (real journal, ledger, rollups, offsets), with the tenant directory replaced by a fixed list;
   * records where each read of a tenant started, and fails the first {@code failures} reads.
   */
  private static UsageFeed.Parts parts(List<String> tenants, List<Read> reads, int failures) {
    UsageFeed.Parts real = BillingProjection.parts(store.testKit.system(), ledger, rollups, x -> { }, offsets,
        Duration.ofSeconds(10));
    AtomicInteger failed = new AtomicInteger();
    return new UsageFeed.Parts() {
      @Override
      public CompletionStage<List<SequencedEvent>> eventsAfter(String tenantId, long after, int max) {
        reads.add(new Read(tenantId, after, System.nanoTime()));
        if (tenants.contains(tenantId) && failed.incrementAndGet() <= failures) {
          return CompletableFuture.failedFuture(new IllegalStateException("journal unavailable"));
        }
        return real.eventsAfter(tenantId, after, max);
      }

      @Override
      public CompletionStage<List<String>> tenantsFrom(int from) {
        return CompletableFuture.completedFuture(from == 0 ? tenants : List.of());
      }

      @Override
      public CompletionStage<Long> initialOffset(String tenantId) {
        return real.initialOffset(tenantId);
      }

      @Override
      public FeedOffsets offsets() {
        return offsets;
      }

      @Override
      public BillingProjectionHandler handler() {
        return real.handler();
      }
    };
  }

  private static List<LedgerRow> rows(String tenant) {
    return new LedgerReader(ledger, usage::sequenceRange).collect(tenant, month(), 1000, store.testKit.system())
        .toCompletableFuture().join();
  }

  private static void awaitRows(String tenant, int count) {
    store.testKit.createTestProbe().awaitAssert(WAIT, () -> {
      assertEquals(count, rows(tenant).size());
      assertEquals(count, usage.report(tenant, month()).toCompletableFuture().join().requests());
      return null;
    });
  }

  private static long savedOffset(String tenant) {
    return offsets.load(TAG).toCompletableFuture().join().getOrDefault(tenant, -1L);
  }

  /** Waits until the tenant's saved offset is {@code sequenceNr} (it is saved after the rows are written). */
  private static void awaitOffset(String tenant, long sequenceNr) {
    store.testKit.createTestProbe().awaitAssert(WAIT, () -> {
      assertEquals(sequenceNr, savedOffset(tenant));
      return null;
    });
  }

  private static ActorRef<UsageFeed.Command> feed(UsageFeed.Parts parts, UsageFeed.Settings settings) {
    return store.testKit.spawn(UsageFeed.create(TAG, parts, settings));
  }

  private static void stopFeed(ActorRef<UsageFeed.Command> feed) {
    var probe = store.testKit.createTestProbe();
    feed.tell(UsageFeed.Stop.INSTANCE);
    probe.expectTerminated(feed, WAIT);
  }

  @Test
  void readsEveryTenantWhenItStartsThenWhatANoticeAnnouncesAndSavesWhereItGot() {
    String a = tenant("started-a");
    String b = tenant("started-b");
    created(a, 3);
    created(b, 2);
    var feed = feed(parts(List.of(a, b), new CopyOnWriteArrayList<>(), 0), FAST);
    awaitRows(a, 3);
    awaitRows(b, 2);
    awaitOffset(a, 4);
    awaitOffset(b, 3);
    store.append(a, used(a, 3, 2));
    feed.tell(new UsageFeed.Notice(a));
    awaitRows(a, 5);
    assertEquals(List.of(2L, 3L, 4L, 5L, 6L), rows(a).stream().map(LedgerRow::sequenceNr).toList());
    awaitOffset(a, 6);
    stopFeed(feed);
  }

  @Test
  void aNoticedTenantIsReadAgainRecheckAfterItsNotice() {
    String t = tenant("rechecked");
    created(t, 1);
    List<Read> reads = new CopyOnWriteArrayList<>();
    var feed = feed(parts(List.of(t), reads, 0), FAST);
    awaitRows(t, 1);
    int before = of(t, reads).size();
    long noticed = System.nanoTime();
    feed.tell(new UsageFeed.Notice(t));
    // once for the notice, and once more recheck-after later: a write its tenant did not announce (within the
    // notice gap) is read then
    store.testKit.createTestProbe().awaitAssert(WAIT, () -> {
      assertTrue(of(t, reads).size() >= before + 2, reads.toString());
      return null;
    });
    Read recheck = of(t, reads).get(before + 1);
    assertTrue(recheck.atNanos() - noticed >= FAST.recheckAfter().toNanos(),
        "read again " + (recheck.atNanos() - noticed) / 1_000_000 + " ms after the notice");
    stopFeed(feed);
  }

  @Test
  void aRestartedFeedGoesOnFromItsSavedOffsetsAndCountsNothingTwice() {
    String t = tenant("restarted");
    created(t, 3);
    var first = feed(parts(List.of(t), new CopyOnWriteArrayList<>(), 0), FAST);
    awaitRows(t, 3);
    awaitOffset(t, 4);
    stopFeed(first);
    store.append(t, used(t, 3, 2));
    List<Read> reads = new CopyOnWriteArrayList<>();
    var second = feed(parts(List.of(t), reads, 0), FAST);
    awaitRows(t, 5);
    assertEquals(4, of(t, reads).get(0).after(), "the restarted feed reads after its saved offset");
    assertEquals(100, usage.report(t, month()).toCompletableFuture().join().chargeMicros());
    stopFeed(second);
  }

  @Test
  void aTenantWithoutAnOffsetStartsAfterWhatItsRollupsHold() {
    String t = tenant("upgraded");
    created(t, 4);
    // an earlier version's projection got as far as sequence number 3 (usage events 2 and 3)
    var events = new ArrayList<SequencedEvent>();
    events.add(new SequencedEvent(TenantEntity.persistenceIdOf(t), 2, (TenantEntity.Event) used(t, 0, 1).get(0)));
    events.add(new SequencedEvent(TenantEntity.persistenceIdOf(t), 3, (TenantEntity.Event) used(t, 1, 1).get(0)));
    new BillingProjectionHandler(ledger, new RollupWriter(rollups, 10), x -> { }).process(events)
        .toCompletableFuture().join();
    assertEquals(-1, savedOffset(t));
    List<Read> reads = new CopyOnWriteArrayList<>();
    var feed = feed(parts(List.of(t), reads, 0), FAST);
    awaitRows(t, 4);
    assertEquals(3, of(t, reads).get(0).after(), "starts after the rollups' newest event, not at the journal's start");
    assertEquals(List.of(2L, 3L, 4L, 5L), rows(t).stream().map(LedgerRow::sequenceNr).toList());
    stopFeed(feed);
  }

  @Test
  void aFailedPassIsReadAgainAndLosesNothing() {
    String t = tenant("failing");
    created(t, 2);
    List<Read> reads = new CopyOnWriteArrayList<>();
    var feed = feed(parts(List.of(t), reads, 2), FAST);
    awaitRows(t, 2);
    assertTrue(of(t, reads).size() >= 3, "two failed reads, then one that succeeded: " + reads);
    awaitOffset(t, 3);
    stopFeed(feed);
  }

  @Test
  void aNoticeForATenantOfAnotherTagIsIgnored() {
    String own = tenant("own");
    String foreign = "foreign-" + names.incrementAndGet();
    while (TenantEntity.tagFor(foreign).equals(TAG)) {
      foreign = "foreign-" + names.incrementAndGet();
    }
    created(own, 1);
    created(foreign, 1);
    List<Read> reads = new CopyOnWriteArrayList<>();
    var feed = feed(parts(List.of(own), reads, 0), FAST);
    awaitRows(own, 1);
    feed.tell(new UsageFeed.Notice(foreign));
    int before = of(own, reads).size();
    feed.tell(new UsageFeed.Notice(own));
    // notices are handled in order: once the one after it was read, the foreign one would have been too
    store.testKit.createTestProbe().awaitAssert(WAIT, () -> {
      assertTrue(of(own, reads).size() > before);
      return null;
    });
    assertEquals(List.of(), of(foreign, reads), "another tag's feed reads that tenant");
    stopFeed(feed);
  }

  @Test
  void aRecheckWithinTheNoticeGapIsRefused() {
    var e = assertThrows(IllegalArgumentException.class, () -> new UsageFeed.Settings(Duration.ofMillis(200),
        UsageNotices.GAP, Duration.ofMinutes(5), 64, 200));
    assertTrue(e.getMessage().contains("recheck-after must be longer than the notice gap"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new UsageFeed.Settings(Duration.ofMillis(200),
        Duration.ofSeconds(1), Duration.ofMinutes(5), 0, 200));
  }
}
