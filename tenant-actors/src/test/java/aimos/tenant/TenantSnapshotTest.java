package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.internal.snapshots.TenantSnapshot;
import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Snapshots: what they hold, that recovery from one alone gives back everything a full replay gives, that their
 * committed bytes keep decoding, and the dedup window's horizon in time and count.
 */
class TenantSnapshotTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  private static final AtomicInteger ids = new AtomicInteger();
  private final TenantEventSerializer serializer = new TenantEventSerializer();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private record Tenant(String id, EventSourcedBehaviorTestKit<TenantEntity.Command, TenantEntity.Event, TenantState> kit) {
    String pid() {
      return TenantEntity.persistenceIdOf(id);
    }

    String issueKey() {
      var r = kit.<StatusReply<TenantEntity.IssuedKey>>runCommand(TenantEntity.IssueKey::new);
      return ApiKeys.parse(r.reply().getValue().apiKey()).orElseThrow().secret();
    }

    TenantEntity.Admission admit(String secret, String requestId, String fingerprint) {
      return kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret, requestId, fingerprint,
          "demo-text", 10, 0, rt)).reply();
    }

    TenantEntity.Recorded serve(String secret, String requestId, String fingerprint, long prompt, long completion) {
      var admitted = assertInstanceOf(TenantEntity.Admitted.class, admit(secret, requestId, fingerprint));
      var r = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(
          admitted.admissionId(), requestId, fingerprint, "demo-text", "v1", BillingUnit.TOKENS, 20_000,
          Units.tokens(prompt, completion), 1500, rt));
      return r.reply().getValue();
    }

    TenantEntity.Summary summary() {
      return kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply().getValue();
    }
  }

  private Tenant tenant(int snapshotEvery, Clock clock) {
    String id = "snap-" + ids.incrementAndGet();
    var settings = new TenantEntity.Settings(Duration.ofMinutes(1), Duration.ofMillis(500), clock)
        .withSnapshotEvery(snapshotEvery);
    return new Tenant(id, EventSourcedBehaviorTestKit.create(testKit.system(),
        TenantEntity.create(id, settings, TenantEntityTest.PRICER),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false)));
  }

  @Test
  void recoveryFromTheSnapshotAloneKeepsPlanKeysMonthAndDedupWindow() {
    Tenant t = tenant(8, new ManualClock(Instant.parse("2026-11-26T10:00:00Z")));
    var created = t.kit().<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Create("Acme",
        new Plan(100, 100_000, 10_000_000, 4, 2), rt));
    assertTrue(created.reply().isSuccess());
    String secret = t.issueKey();
    String revoked = t.issueKey();
    String revokedId = ApiKeys.keyIdOf(revoked);
    t.kit().<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.RevokeKey(revokedId, rt));
    for (int i = 1; i <= 4; i++) {
      t.serve(secret, "r" + i, "fp" + i, 100 * i, 10);
    }
    // 8 events: the snapshot at sequence number 8 holds all of them
    var before = t.summary();
    var stored = t.kit().snapshotTestKit().orElseThrow().persistedInStorage(t.pid());
    assertEquals(8, stored.get(stored.size() - 1).first().sequenceNr());
    TenantSnapshot snapshot = assertInstanceOf(TenantSnapshot.class, stored.get(stored.size() - 1).second());
    assertEquals(4, snapshot.getRecentCount());

    // with the journal's events gone, what the entity knows after a restart comes from the snapshot only
    t.kit().persistenceTestKit().clearByIdPreservingSeqNumbers(t.pid());
    t.kit().restart();
    assertEquals(before, t.summary());
    assertEquals(new Plan(100, 100_000, 10_000_000, 4, 2), t.summary().plan());
    assertEquals(List.of(false, true), t.summary().keys().stream().map(TenantEntity.KeyInfo::revoked).toList());
    assertInstanceOf(TenantEntity.Rejected.class, t.admit(revoked, "r9", "fp9"));
    var replayed = assertInstanceOf(TenantEntity.Replayed.class, t.admit(secret, "r3", "fp3")).recorded();
    assertEquals(Units.tokens(300, 10), replayed.units());
    assertEquals(TenantEntityTest.PRICER.charge("demo-text", BillingUnit.TOKENS, 20_000, Units.tokens(300, 10), 330, 0)
        .chargeMicros(),
        replayed.chargeMicros());
    var reused = assertInstanceOf(TenantEntity.Rejected.class, t.admit(secret, "r3", "another-input"));
    assertEquals(TenantEntity.Reason.REQUEST_ID_REUSED, reused.reason());
    // the volume discount and the budget go on from the month's totals in the snapshot
    var next = t.kit().<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(
        ((TenantEntity.Admitted) t.admit(secret, "r5", "fp5")).admissionId(), "r5", "fp5", "demo-text", "v1",
        BillingUnit.TOKENS, 20_000, Units.tokens(1, 0), 1500, rt));
    var usage = assertInstanceOf(TenantEntity.UsageRecorded.class, next.event());
    assertEquals(before.monthTokens(), usage.monthTokensBefore());
    assertEquals(before.monthRequests() + 1, t.summary().monthRequests());
  }

  @Test
  void snapshotsAreTakenEveryNEventsAndTheLastTwoKept() {
    Tenant t = tenant(5, new ManualClock(Instant.parse("2026-11-26T10:00:00Z")));
    t.kit().<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Create("Acme",
        new Plan(1000, 1_000_000, 10_000_000, 4), rt));
    String secret = t.issueKey();
    for (int i = 1; i <= 14; i++) {
      t.serve(secret, "r" + i, "fp" + i, 1, 1);
    }
    // 16 events: snapshots at 5, 10 and 15, the oldest deleted; the deletion follows the save of the newest one
    // asynchronously, after the command that triggered it has been answered
    testKit.createTestProbe().awaitAssert(() -> {
      var stored = t.kit().snapshotTestKit().orElseThrow().persistedInStorage(t.pid());
      assertEquals(List.of(10L, 15L), stored.stream().map(p -> p.first().sequenceNr()).toList());
      return null;
    });
    var before = t.summary();
    t.kit().restart();
    assertEquals(before, t.summary());
    assertEquals(16, t.kit().persistenceTestKit().persistedInStorage(t.pid()).size(), "events are never deleted");
  }

  @Test
  void withSnapshotsOffNoneIsWrittenAndRecoveryReplaysTheJournal() {
    Tenant t = tenant(0, new ManualClock(Instant.parse("2026-11-26T10:00:00Z")));
    t.kit().<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Create("Acme",
        new Plan(1000, 1_000_000, 10_000_000, 4), rt));
    String secret = t.issueKey();
    for (int i = 1; i <= 12; i++) {
      t.serve(secret, "r" + i, "fp" + i, 1, 1);
    }
    assertEquals(List.of(), t.kit().snapshotTestKit().orElseThrow().persistedInStorage(t.pid()));
    var before = t.summary();
    t.kit().restart();
    assertEquals(before, t.summary());
    assertInstanceOf(TenantEntity.Replayed.class, t.admit(secret, "r7", "fp7"));
  }

  @Test
  void aRequestIdIsRecognisedFor24HoursAndThenServedAsANewRequest() {
    ManualClock clock = new ManualClock(Instant.parse("2026-11-26T10:00:00Z"));
    Tenant t = tenant(1000, clock);
    t.kit().<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Create("Acme",
        new Plan(1000, 1_000_000, 10_000_000, 4), rt));
    String secret = t.issueKey();
    t.serve(secret, "r1", "fp1", 5, 5);
    clock.advance(Duration.ofHours(23));
    assertInstanceOf(TenantEntity.Replayed.class, t.admit(secret, "r1", "fp1"));
    t.kit().restart();
    assertInstanceOf(TenantEntity.Replayed.class, t.admit(secret, "r1", "fp1"));
    clock.advance(Duration.ofHours(1).plusMillis(1));
    assertInstanceOf(TenantEntity.Admitted.class, t.admit(secret, "r1", "fp1"));
  }

  @Test
  void theWindowKeepsTheNewestIdsAndDropsThoseOlderThanTheHorizon() {
    RecentRequests recent = new RecentRequests();
    long t0 = 1_764_000_000_000L;
    for (int i = 0; i < RecentRequests.MAX_IDS + 5; i++) {
      recent.add(recorded("r" + i), t0 + i);
    }
    assertEquals(RecentRequests.MAX_IDS, recent.size());
    assertNull(recent.get("r4", t0));
    assertEquals("r5", recent.get("r5", t0).requestId());
    // an event recorded a horizon later evicts everything recorded before its horizon
    long later = t0 + RecentRequests.HORIZON.toMillis() + 100;
    recent.add(recorded("late"), later);
    // r100 .. r10004 and the late one
    assertEquals(RecentRequests.MAX_IDS + 5 - 100 + 1, recent.size());
    assertNull(recent.get("r99", later));
    assertEquals("r100", recent.get("r100", later).requestId());
  }

  private static TenantEntity.Recorded recorded(String id) {
    return new TenantEntity.Recorded(id, "m", "v", Units.tokens(1, 1), 2, false, "fp");
  }

  /** Written by snapshot schema v1; must decode the same way forever. */
  static final String SNAPSHOT_V1 = "CAESCUFjbWUgQ29ycBoQCNgEEKCNBhiAwtcvIAgoBCIjChBrZXktMGExYjJjM2Q0ZTVmEgQBAgMEGgIqKiDo19+"
      + "0qzMiIgoQa2V5LWZmZWVkZGNjYmJhYRICBQYaAQcg0N/ftKszKAEqBzIwMjYtMTEwAjj0B0D4nQFKRgoFcmVxLTESCWRlbW8tdGV4dBoCdjEgBy"
      + "gFQPABSiAwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZlC459+0qzNKJQoFcmVxLTISC2RlbW8tc3BlZWNoGgJ2Mji4F0CIJ1Cg79+0qzM=";

  @Test
  void decodesSnapshotBytesWrittenBySchemaV1() throws Exception {
    var proto = (TenantSnapshot) serializer.fromBinary(Base64.getDecoder().decode(SNAPSHOT_V1), "TenantSnapshot.v1");
    TenantState s = TenantSnapshots.INSTANCE.fromJournal(proto);
    assertTrue(s.isCreated());
    assertEquals(new TenantEntity.Summary("acme", "Acme Corp", new Plan(600, 100_000, 100_000_000, 8, 4),
        List.of(new TenantEntity.KeyInfo("key-0a1b2c3d4e5f", 1764000001000L, false, "inference"),
            new TenantEntity.KeyInfo("key-ffeeddccbbaa", 1764000002000L, true, "inference")),
        "2026-11", 2, 1012, 20216), s.summary("acme"));
    assertArrayEquals(new byte[] {1, 2, 3, 4}, s.keys.get("key-0a1b2c3d4e5f").salt());
    assertArrayEquals(new byte[] {42, 42}, s.keys.get("key-0a1b2c3d4e5f").hash());
    long at = 1764000004000L;
    assertEquals(new TenantEntity.Recorded("req-1", "demo-text", "v1", Units.tokens(7, 5), 240, false,
        "0123456789abcdef0123456789abcdef"), s.recent.get("req-1", at));
    assertEquals(new TenantEntity.Recorded("req-2", "demo-speech", "v2", new Units(0, 0, 0, 3000), 5000, false, ""),
        s.recent.get("req-2", at));
    assertEquals(List.of("req-1", "req-2"), s.recent.entries().stream().map(e -> e.recorded().requestId()).toList());
    assertEquals(1764000003000L, s.recent.entries().iterator().next().recordedAtMillis());
    // and the same state writes the same bytes
    assertEquals(SNAPSHOT_V1, Base64.getEncoder().encodeToString(serializer.toBinary(TenantSnapshots.toProto(s))));
  }

  @Test
  void decodesCommittedSnapshotBytesOfASuspendedTenantAndOlderSnapshotsAsActive() throws Exception {
    String bytes = "CAESCUFjbWUgQ29ycBoQCNgEEKCNBhiAwtcvIAgoBCIjChBrZXktMGExYjJjM2Q0ZTVmEgQBAgMEGgIqKiDo19+0qzMiIgoQa2"
        + "V5LWZmZWVkZGNjYmJhYRICBQYaAQcg0N/ftKszKAEqBzIwMjYtMTEwAjj0B0D4nQFKRgoFcmVxLTESCWRlbW8tdGV4dBoCdjEgBygFQPAB"
        + "SiAwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZlC459+0qzNKJQoFcmVxLTISC2RlbW8tc3BlZWNoGgJ2Mji4F0CIJ1Cg79+0qz"
        + "NgAWoOdW5wYWlkIGludm9pY2Vw8P7ftKsz";
    var proto = (TenantSnapshot) serializer.fromBinary(Base64.getDecoder().decode(bytes), "TenantSnapshot.v1");
    TenantState s = TenantSnapshots.INSTANCE.fromJournal(proto);
    var summary = s.summary("acme");
    assertTrue(summary.suspended());
    assertEquals("unpaid invoice", summary.suspendReason());
    assertEquals(1764000006000L, summary.suspendedAtMillis());
    assertEquals(2, summary.monthRequests());
    assertEquals(bytes, Base64.getEncoder().encodeToString(serializer.toBinary(TenantSnapshots.toProto(s))));
    // written before suspension existed: active, and writes the same bytes as it did
    TenantState old = TenantSnapshots.INSTANCE.fromJournal(
        (TenantSnapshot) serializer.fromBinary(Base64.getDecoder().decode(SNAPSHOT_V1), "TenantSnapshot.v1"));
    assertFalse(old.summary("acme").suspended());
    assertEquals("active", old.summary("acme").status());
  }

  @Test
  void aSuspensionSurvivesRecoveryFromTheSnapshotAlone() {
    Tenant t = tenant(4, new ManualClock(Instant.parse("2026-11-26T10:00:00Z")));
    t.kit().<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Create("Acme",
        new Plan(100, 100_000, 10_000_000, 4), rt));
    String secret = t.issueKey();
    t.serve(secret, "r1", "fp1", 1, 1);
    t.kit().<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Suspend("abuse", rt));
    assertEquals(1, t.kit().snapshotTestKit().orElseThrow().persistedInStorage(t.pid()).size());
    t.kit().persistenceTestKit().clearByIdPreservingSeqNumbers(t.pid());
    t.kit().restart();
    assertTrue(t.summary().suspended());
    assertEquals("abuse", t.summary().suspendReason());
    var refused = assertInstanceOf(TenantEntity.Rejected.class, t.admit(secret, "r2", "fp2"));
    assertEquals(TenantEntity.Reason.TENANT_SUSPENDED, refused.reason());
  }

  @Test
  void aSnapshotIsACopyThatLaterEventsDoNotChange() {
    TenantState s = new TenantState();
    s.apply(new TenantEntity.TenantCreated("t", "T", new Plan(1, 1, 1, 1), 1));
    Object snapshot = TenantSnapshots.INSTANCE.toJournal(s);
    s.apply(new TenantEntity.UsageRecorded("t", "r1", "m", "v", BillingUnit.TOKENS, 1, Units.tokens(1, 1), 0, 2, 1,
        2, "2026-11"));
    assertEquals(0, ((TenantSnapshot) snapshot).getRecentCount());
    assertFalse(((TenantSnapshot) snapshot).getMonthRequests() > 0);
    assertEquals("TenantSnapshot.v1", serializer.manifest(snapshot));
  }
}
