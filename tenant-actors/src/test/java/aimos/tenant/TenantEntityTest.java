package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TenantEntityTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  /** 20 micro-dollars a token, 10% off past 1,000 tokens in a month: enough to see the entity pass the inputs. */
  static final UsagePricer PRICER = (model, unit, price, units, before, at) -> {
    long full = Math.max(0, Math.min(units.tokens(), 1000 - before));
    return new UsagePricer.Charge(price, full * 20 + (units.tokens() - full) * 18, 0);
  };
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
  private static final AtomicInteger ids = new AtomicInteger();

  private EventSourcedBehaviorTestKit<TenantEntity.Command, TenantEntity.Event, TenantState> kit;
  private String tenantId;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    tenantId = "acme-" + ids.incrementAndGet();
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        TenantEntity.create(tenantId, new TenantEntity.Settings(Duration.ofMinutes(1), Duration.ofMillis(500), CLOCK), PRICER),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
  }

  private TenantEntity.Summary create(Plan plan) {
    var r = kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Create("Acme", plan, rt));
    assertTrue(r.reply().isSuccess(), () -> String.valueOf(r.reply()));
    return r.reply().getValue();
  }

  private String issueKey() {
    var r = kit.<StatusReply<TenantEntity.IssuedKey>>runCommand(TenantEntity.IssueKey::new);
    assertTrue(r.reply().isSuccess());
    return r.reply().getValue().apiKey();
  }

  private static String secret(String apiKey) {
    return ApiKeys.parse(apiKey).orElseThrow().secret();
  }

  private TenantEntity.Admission admit(String key, String requestId) {
    return kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret(key), requestId, 10, rt)).reply();
  }

  private StatusReply<TenantEntity.Recorded> record(String admissionId, String requestId, long prompt, long completion) {
    return kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(admissionId,
        requestId, "demo-text", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(prompt, completion), 1500, rt)).reply();
  }

  static Plan plan(long rpm, long tpm, long budgetMicros, int concurrent) {
    return new Plan(rpm, tpm, budgetMicros, concurrent);
  }

  @Test
  void announcesWrittenUsageToTheBillingFeedAtMostOncePerGapAndAgainWhenItStarts() {
    ManualClock clock = new ManualClock(Instant.parse("2026-11-26T10:00:00Z"));
    List<String> notices = new java.util.concurrent.CopyOnWriteArrayList<>();
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        TenantEntity.create(tenantId, new TenantEntity.Settings(Duration.ofMinutes(1), Duration.ofMillis(500), clock),
            PRICER, (UsageNotices) notices::add),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    assertEquals(List.of(), notices, "creating a tenant and issuing a key write no usage");
    var a = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1"));
    assertTrue(record(a.admissionId(), "r1", 5, 5).isSuccess());
    assertEquals(List.of(tenantId), notices, "the first write is announced at once");
    var b = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r2"));
    clock.advance(UsageNotices.GAP.minusMillis(1));
    assertTrue(record(b.admissionId(), "r2", 5, 5).isSuccess());
    assertEquals(1, notices.size(), "a write within the gap is not announced");
    var c = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r3"));
    clock.advance(Duration.ofMillis(1));
    assertTrue(record(c.admissionId(), "r3", 5, 5).isSuccess());
    assertEquals(2, notices.size(), "the first write after the gap is announced");
    var d = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r4"));
    clock.advance(Duration.ofSeconds(-30));
    assertTrue(record(d.admissionId(), "r4", 5, 5).isSuccess());
    assertEquals(3, notices.size(), "a clock set back does not silence the tenant");
    kit.restart();
    assertEquals(List.of(tenantId, tenantId, tenantId, tenantId), notices,
        "a tenant that starts announces what it holds");
  }

  @Test
  void issuesKeysThatAdmitAndMetersEachRequestIdOnce() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    assertTrue(key.startsWith("aimos_" + tenantId + "_"));

    var admitted = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1"));
    var first = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(
        admitted.admissionId(), "r1", "demo-text", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(7, 5), 1500, rt));
    assertTrue(first.reply().isSuccess());
    assertEquals(240, first.reply().getValue().chargeMicros());
    assertFalse(first.reply().getValue().replayed());
    var usage = assertInstanceOf(TenantEntity.UsageRecorded.class, first.event());
    assertEquals(0, usage.monthTokensBefore());
    assertEquals("2026-11", usage.month());
    assertEquals(TenantEntity.tagFor(tenantId), TenantEntity.tagFor(usage.tenantId()));

    // the retry of r1 is answered from the first recording at admission and persists nothing
    var retry = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret(key), "r1", 10, rt));
    assertTrue(retry.hasNoEvents());
    var replayed = assertInstanceOf(TenantEntity.Replayed.class, retry.reply()).recorded();
    assertTrue(replayed.replayed());
    assertEquals(240, replayed.chargeMicros());
    assertEquals(Units.tokens(7, 5), replayed.units());

    var second = record(((TenantEntity.Admitted) admit(key, "r2")).admissionId(), "r2", 1000, 0);
    // 988 tokens at full price, the 12 past the 1,000-token threshold discounted
    assertEquals(988 * 20 + 12 * 18, second.getValue().chargeMicros());

    var summary = kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply().getValue();
    assertEquals(2, summary.monthRequests());
    assertEquals(1012, summary.monthTokens());
    assertEquals(240 + 988 * 20 + 12 * 18, summary.monthSpendMicros());
  }

  @Test
  void keepsKeysUsageAndDeduplicationAcrossRestart() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    record(((TenantEntity.Admitted) admit(key, "r1")).admissionId(), "r1", 3, 4);

    var restarted = kit.restart();
    assertEquals(7, restarted.state().summary(tenantId).monthTokens());

    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r2"));
    var retry = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(
        "unknown-admission", "r1", "demo-text", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(3, 4), 1, rt));
    assertTrue(retry.hasNoEvents());
    assertTrue(retry.reply().getValue().replayed());
  }

  @Test
  void rejectsUnknownRevokedAndMalformedSecretsWithoutChangingState() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    var wrong = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit("not-the-secret-at-all", "r", 1, rt));
    assertTrue(wrong.hasNoEvents());
    assertEquals(TenantEntity.Reason.UNAUTHENTICATED, ((TenantEntity.Rejected) wrong.reply()).reason());
    // the right key id with a wrong random part
    String forged = secret(key).substring(0, 12) + "0".repeat(64);
    var forgedReply = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(forged, "r", 1, rt));
    assertEquals(TenantEntity.Reason.UNAUTHENTICATED, ((TenantEntity.Rejected) forgedReply.reply()).reason());

    String keyId = kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new)
        .reply().getValue().keys().get(0).keyId();
    var revoked = kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.RevokeKey(keyId, rt));
    assertTrue(revoked.reply().getValue().keys().get(0).revoked());
    var after = assertInstanceOf(TenantEntity.Rejected.class, admit(key, "r2"));
    assertEquals(TenantEntity.Reason.UNAUTHENTICATED, after.reason());

    var unknownKey = kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.RevokeKey("key-nope", rt));
    assertTrue(unknownKey.reply().isError());
    assertTrue(unknownKey.hasNoEvents());
  }

  @Test
  void aTenantThatDoesNotExistAuthenticatesNobodyAndItsEntityStopsAfterItsAnswer() {
    TestProbe<Object> replies = testKit.createTestProbe();
    var admitted = testKit.spawn(TenantEntity.create("ghost-" + ids.incrementAndGet(),
        TenantEntity.Settings.defaults(), PRICER));
    admitted.tell(new TenantEntity.Admit("whatever-secret-1234", "r", 1, replies.ref().narrow()));
    assertEquals(TenantEntity.Reason.UNAUTHENTICATED,
        replies.expectMessageClass(TenantEntity.Rejected.class).reason());
    replies.expectTerminated(admitted);

    var recorded = testKit.spawn(TenantEntity.create("ghost-" + ids.incrementAndGet(),
        TenantEntity.Settings.defaults(), PRICER));
    recorded.tell(new TenantEntity.RecordUsage("a", "r", "m", "v", BillingUnit.TOKENS, 1, Units.tokens(1, 1), 1,
        replies.ref().narrow()));
    assertTrue(replies.expectMessageClass(StatusReply.class).isError());
    replies.expectTerminated(recorded);
  }

  private TenantEntity.Admission admit(String key, String requestId, String fingerprint) {
    return kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret(key), requestId, fingerprint,
        "demo-text", 10, 0, rt)).reply();
  }

  private StatusReply<TenantEntity.Recorded> record(String admissionId, String requestId, String fingerprint,
                                                    long prompt) {
    return kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(admissionId,
        requestId, fingerprint, "demo-text", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(prompt, 1), 1500, rt))
        .reply();
  }

  @Test
  void aRetryIsAnsweredAtAdmissionWithoutARateTokenAndAnotherInputUnderTheSameIdIsRefused() {
    create(plan(2, 100_000, 10_000_000, 4));
    String key = issueKey();
    var first = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1", "fp-a"));
    assertEquals(60, record(first.admissionId(), "r1", "fp-a", 2).getValue().chargeMicros());

    // retried three times with the same input: the recorded result each time, no rate token spent
    for (int i = 0; i < 3; i++) {
      var replay = assertInstanceOf(TenantEntity.Replayed.class, admit(key, "r1", "fp-a"));
      assertEquals(60, replay.recorded().chargeMicros());
      assertEquals("fp-a", replay.recorded().fingerprint());
    }
    // the same id with a 1,500-word prompt: refused, nothing admitted
    var reused = assertInstanceOf(TenantEntity.Rejected.class, admit(key, "r1", "fp-b"));
    assertEquals(TenantEntity.Reason.REQUEST_ID_REUSED, reused.reason());
    assertTrue(reused.message().contains("r1"), reused.message());
    // 2 requests a minute: the second is still there, so the replays and the refusal took none
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r2", "fp-c"));

    var summary = kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply().getValue();
    assertEquals(1, summary.monthRequests());
  }

  @Test
  void aRequestIdInFlightIsNotAdmittedAgain() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    var first = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1", "fp-a"));
    var again = assertInstanceOf(TenantEntity.Rejected.class, admit(key, "r1", "fp-a"));
    assertEquals(TenantEntity.Reason.REQUEST_IN_PROGRESS, again.reason());
    assertTrue(again.retryAfterMillis() > 0);
    assertEquals(TenantEntity.Reason.REQUEST_ID_REUSED,
        assertInstanceOf(TenantEntity.Rejected.class, admit(key, "r1", "fp-b")).reason());
    // once the first attempt failed and was released, the id is free for a new attempt
    kit.runCommand(new TenantEntity.Release(first.admissionId()));
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1", "fp-b"));
  }

  @Test
  void aRetryTakesOverAnAdmissionHeldForANodeThatIsGoneAndTheRequestIsBilledOnce() {
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        TenantEntity.create(tenantId, new TenantEntity.Settings(Duration.ofMinutes(1), Duration.ofMillis(500), CLOCK),
            PRICER, address -> true),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    create(plan(100, 100_000, 10_000_000, 1));
    String key = issueKey();
    var first = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1", "fp-a"));
    // the node that asked is gone: the retry is admitted at once, in the single slot the first held
    var retry = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1", "fp-a"));
    assertFalse(first.admissionId().equals(retry.admissionId()));
    // another input under the same id is still refused
    assertEquals(TenantEntity.Reason.REQUEST_ID_REUSED,
        assertInstanceOf(TenantEntity.Rejected.class, admit(key, "r1", "fp-b")).reason());
    var recorded = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(
        retry.admissionId(), "r1", "fp-a", "demo-text", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(7, 5), 1500,
        rt));
    assertFalse(recorded.reply().getValue().replayed());
    // the old node still records what it ran: the request is recorded once
    var late = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage(
        first.admissionId(), "r1", "fp-a", "demo-text", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(7, 5), 1500,
        rt));
    assertTrue(late.reply().getValue().replayed());
    assertTrue(late.hasNoEvents());
    assertEquals(1, kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply().getValue()
        .monthRequests());
  }

  @Test
  void aRetryWhileTheAskingNodeIsAliveIsStillInProgress() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1", "fp-a"));
    assertEquals(TenantEntity.Reason.REQUEST_IN_PROGRESS,
        assertInstanceOf(TenantEntity.Rejected.class, admit(key, "r1", "fp-a")).reason());
  }

  private TenantEntity.Admission admitAttempt(String key, String requestId, String fingerprint, String attempt) {
    return kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret(key), requestId, fingerprint,
        "demo-text", 10, 0, rt, attempt)).reply();
  }

  @Test
  void theSameAttemptAskingAgainGetsItsAdmissionBackAndStillHoldsOneSlot() {
    create(plan(100, 100_000, 10_000_000, 1));
    String key = issueKey();
    var first = assertInstanceOf(TenantEntity.Admitted.class, admitAttempt(key, "r1", "fp-a", "gw-1"));
    // its answer was lost on the way (the tenant's node died, say): the gateway asks again under the same attempt
    var again = assertInstanceOf(TenantEntity.Admitted.class, admitAttempt(key, "r1", "fp-a", "gw-1"));
    assertEquals(first.admissionId(), again.admissionId());
    // one slot only: the concurrency limit of 1 refuses another request
    assertEquals(TenantEntity.Reason.CONCURRENT_REQUESTS,
        assertInstanceOf(TenantEntity.Rejected.class, admit(key, "r2")).reason());
    // the client's own retry (another attempt) is in progress, another input under the id is refused
    assertEquals(TenantEntity.Reason.REQUEST_IN_PROGRESS,
        assertInstanceOf(TenantEntity.Rejected.class, admitAttempt(key, "r1", "fp-a", "gw-2")).reason());
    assertEquals(TenantEntity.Reason.REQUEST_ID_REUSED,
        assertInstanceOf(TenantEntity.Rejected.class, admitAttempt(key, "r1", "fp-b", "gw-1")).reason());
    record(first.admissionId(), "r1", 1, 1);
    assertEquals(1, kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply().getValue()
        .monthRequests());
  }

  @Test
  void theSameAttemptAskingAgainWhileWaitingForALeaseTakesTheWaitingOnesPlace() {
    create(new Plan(100, 100_000, 10_000_000, 10, 1));
    String key = issueKey();
    var a = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "a"));
    TestProbe<TenantEntity.Admission> gone = testKit.createTestProbe();
    TestProbe<TenantEntity.Admission> asker = testKit.createTestProbe();
    kit.runCommand(new TenantEntity.Admit(secret(key), "c", "fp-c", "demo-text", 1, 0, gone.ref(), "gw-1"));
    kit.runCommand(new TenantEntity.Admit(secret(key), "c", "fp-c", "demo-text", 1, 0, asker.ref(), "gw-1"));
    kit.runCommand(new TenantEntity.LeaseReleased(a.admissionId()));
    assertInstanceOf(TenantEntity.Admitted.class, asker.receiveMessage());
    gone.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aRecordingAskedAgainCountsItsTokensOnce() {
    create(plan(100, 50, 10_000_000, 4));
    String key = issueKey();
    var a = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "a"));
    assertFalse(record(a.admissionId(), "a", 20, 10).getValue().replayed());
    // the gateway asked again while the first answer was on its way
    assertTrue(record(a.admissionId(), "a", 20, 10).getValue().replayed());
    // 30 of the 50 tokens a minute are spent, not 60: a request estimated at 10 tokens is admitted
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "b"));
  }

  @Test
  void usageRecordedForAnotherInputUnderARecordedIdGetsTheFirstRecordingBack() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    record(((TenantEntity.Admitted) admit(key, "r1", "fp-a")).admissionId(), "r1", "fp-a", 2);
    // an attempt admitted earlier (on another incarnation, say) records another input under r1
    var late = kit.<StatusReply<TenantEntity.Recorded>>runCommand(rt -> new TenantEntity.RecordUsage("gone", "r1",
        "fp-b", "demo-text", "v1", BillingUnit.TOKENS, 20_000, Units.tokens(3000, 3000), 1, rt));
    assertTrue(late.hasNoEvents());
    var recorded = late.reply().getValue();
    assertTrue(recorded.replayed());
    assertFalse(recorded.sameInput("fp-b"), "the gateway must see that the recording is another input's");
  }

  @Test
  void fingerprintsOfRecordedRequestsSurviveARestart() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    record(((TenantEntity.Admitted) admit(key, "r1", "fp-a")).admissionId(), "r1", "fp-a", 2);
    kit.restart();
    assertInstanceOf(TenantEntity.Replayed.class, admit(key, "r1", "fp-a"));
    assertEquals(TenantEntity.Reason.REQUEST_ID_REUSED,
        assertInstanceOf(TenantEntity.Rejected.class, admit(key, "r1", "fp-b")).reason());
  }

  private TenantEntity.Admission admitFor(String key, String requestId, String model) {
    return kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret(key), requestId, "fp-" + requestId,
        model, 10, 0, rt)).reply();
  }

  @Test
  void requestsThatMakeAModelFailSpendTheirRateTokenAndTheTenantsFailureBudgetForThatModel() {
    create(plan(TenantEntity.DEFAULT_MODEL_FAILURES_PER_MINUTE + 2, 100_000, 10_000_000, 4));
    String key = issueKey();
    for (int i = 0; i < TenantEntity.DEFAULT_MODEL_FAILURES_PER_MINUTE; i++) {
      var a = assertInstanceOf(TenantEntity.Admitted.class, admitFor(key, "crash-" + i, "ocr"));
      kit.runCommand(TenantEntity.Release.modelFailed(a.admissionId(), "sandbox-gen-" + i));
    }
    var refused = assertInstanceOf(TenantEntity.Rejected.class, admitFor(key, "crash-next", "ocr"));
    assertEquals(TenantEntity.Reason.MODEL_FAILURES, refused.reason());
    assertTrue(refused.message().contains("model ocr"), refused.message());
    assertTrue(refused.retryAfterMillis() > 0);
    // other models of the tenant are served; the failed requests kept their rate tokens: 2 of 4 are left
    assertInstanceOf(TenantEntity.Admitted.class, admitFor(key, "text-1", "demo-text"));
    assertInstanceOf(TenantEntity.Admitted.class, admitFor(key, "text-2", "demo-text"));
    assertEquals(TenantEntity.Reason.REQUESTS_PER_MINUTE,
        assertInstanceOf(TenantEntity.Rejected.class, admitFor(key, "text-3", "demo-text")).reason());
  }

  @Test
  void aSandboxThatDiedWithSeveralOfTheTenantsRequestsInItIsOneFailure() {
    create(plan(100, 100_000, 10_000_000, 8));
    String key = issueKey();
    for (int i = 0; i < 5; i++) {
      var a = assertInstanceOf(TenantEntity.Admitted.class, admitFor(key, "in-crash-" + i, "ocr"));
      kit.runCommand(TenantEntity.Release.modelFailed(a.admissionId(), "node-1/ocr/v1#3"));
    }
    assertInstanceOf(TenantEntity.Admitted.class, admitFor(key, "after-crash", "ocr"));
  }

  @Test
  void failuresThatAreNotTheInputsDoNotSpendTheFailureBudget() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    for (int i = 0; i < 5; i++) {
      var a = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "busy-" + i));
      kit.runCommand(new TenantEntity.Release(a.admissionId()));
    }
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "next"));
  }

  @Test
  void keepsASealedNameAsItCameAcrossRestartAndBoundsItsLength() {
    String tooLong = TenantEntity.SEALED_PREFIX + "A".repeat(TenantEntity.MAX_SEALED_NAME);
    var refused = kit.<StatusReply<TenantEntity.Summary>>runCommand(
        rt -> new TenantEntity.Create(tooLong, plan(1, 1, 1, 1), rt));
    assertTrue(refused.reply().isError());
    assertTrue(refused.hasNoEvents());
    var plainTooLong = kit.<StatusReply<TenantEntity.Summary>>runCommand(
        rt -> new TenantEntity.Create("n".repeat(201), plan(1, 1, 1, 1), rt));
    assertTrue(plainTooLong.reply().isError());
    // the longest sealed form of a 200-character name is accepted and kept byte for byte
    String sealed = TenantEntity.SEALED_PREFIX + "B".repeat(TenantEntity.MAX_SEALED_NAME
        - TenantEntity.SEALED_PREFIX.length());
    var made = kit.<StatusReply<TenantEntity.Summary>>runCommand(
        rt -> new TenantEntity.Create(sealed, plan(1, 1, 1, 1), rt));
    assertTrue(made.reply().isSuccess(), () -> String.valueOf(made.reply()));
    assertEquals(sealed, kit.restart().state().summary(tenantId).displayName());
  }

  @Test
  void refusesASecondCreate() {
    create(plan(100, 100_000, 10_000_000, 4));
    var again = kit.<StatusReply<TenantEntity.Summary>>runCommand(
        rt -> new TenantEntity.Create("Other", plan(1, 1, 1, 1), rt));
    assertTrue(again.reply().isError());
    assertTrue(again.reply().getError().getMessage().contains("already exists"));
    assertTrue(again.hasNoEvents());
  }

  @Test
  void enforcesRequestsPerMinute() {
    create(plan(2, 100_000, 10_000_000, 10));
    String key = issueKey();
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "a"));
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "b"));
    var third = assertInstanceOf(TenantEntity.Rejected.class, admit(key, "c"));
    assertEquals(TenantEntity.Reason.REQUESTS_PER_MINUTE, third.reason());
    assertTrue(third.message().contains("2 requests per minute"), third.message());
    assertTrue(third.retryAfterMillis() > 0);
  }

  @Test
  void enforcesTokensPerMinuteWithActualUsage() {
    create(plan(100, 50, 10_000_000, 10));
    String key = issueKey();
    record(((TenantEntity.Admitted) admit(key, "a")).admissionId(), "a", 30, 30);
    var next = assertInstanceOf(TenantEntity.Rejected.class, admit(key, "b"));
    assertEquals(TenantEntity.Reason.TOKENS_PER_MINUTE, next.reason());
  }

  @Test
  void enforcesConcurrencyAndFreesSlotsOnRelease() {
    create(plan(100, 100_000, 10_000_000, 1));
    String key = issueKey();
    var first = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "a"));
    var second = assertInstanceOf(TenantEntity.Rejected.class, admit(key, "b"));
    assertEquals(TenantEntity.Reason.CONCURRENT_REQUESTS, second.reason());
    kit.runCommand(new TenantEntity.Release(first.admissionId()));
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "b"));
  }

  @Test
  void aReleasedRequestGetsItsRateTokenBackAndARecordedOneDoesNot() {
    create(plan(1, 100_000, 10_000_000, 4));
    String key = issueKey();
    var first = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "a"));
    kit.runCommand(new TenantEntity.Release(first.admissionId()));
    var second = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "b"));
    record(second.admissionId(), "b", 1, 1);
    // the one request per minute was used by b
    assertEquals(TenantEntity.Reason.REQUESTS_PER_MINUTE,
        assertInstanceOf(TenantEntity.Rejected.class, admit(key, "c")).reason());
    // releasing an admission that does not exist (or was already recorded) refunds nothing
    kit.runCommand(new TenantEntity.Release("never-admitted"));
    kit.runCommand(new TenantEntity.Release(second.admissionId()));
    assertInstanceOf(TenantEntity.Rejected.class, admit(key, "d"));
  }

  @Test
  void holdsAtMostItsWorkerLeaseQuotaAndQueuesBrieflyForIt() {
    create(new Plan(100, 100_000, 10_000_000, 10, 2));
    String key = issueKey();
    var a = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "a"));
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "b"));
    // the quota of 2 is held: a third request waits, and gets the lease a frees
    TestProbe<TenantEntity.Admission> waiter = testKit.createTestProbe();
    kit.runCommand(new TenantEntity.Admit(secret(key), "c", 1, waiter.ref()));
    waiter.expectNoMessage(Duration.ofMillis(100));
    kit.runCommand(new TenantEntity.LeaseReleased(a.admissionId()));
    assertInstanceOf(TenantEntity.Admitted.class, waiter.receiveMessage());
    // nobody gives a lease back now: a waiting request is refused after the wait, naming the quota
    TestProbe<TenantEntity.Admission> late = testKit.createTestProbe();
    kit.runCommand(new TenantEntity.Admit(secret(key), "d", 1, late.ref()));
    var refused = late.expectMessageClass(TenantEntity.Rejected.class, Duration.ofSeconds(3));
    assertEquals(TenantEntity.Reason.WORKER_LEASES, refused.reason());
    assertTrue(refused.message().contains("all 2 worker leases"), refused.message());
  }

  @Test
  void dropsAnAdmitWhoseAskerHasGivenUp() {
    create(new Plan(100, 100_000, 10_000_000, 1, 1));
    String key = issueKey();
    // delivered after its deadline (buffered while the tenant moved): no answer, and no slot taken
    TestProbe<TenantEntity.Admission> gone = testKit.createTestProbe();
    kit.runCommand(new TenantEntity.Admit(secret(key), "stale", 1, CLOCK.millis() - 1, gone.ref()));
    gone.expectNoMessage(Duration.ofMillis(100));
    TestProbe<TenantEntity.Admission> live = testKit.createTestProbe();
    kit.runCommand(new TenantEntity.Admit(secret(key), "live", 1, CLOCK.millis() + 60_000, live.ref()));
    assertInstanceOf(TenantEntity.Admitted.class, live.receiveMessage());
  }

  @Test
  void authenticatesWithoutTouchingLimits() {
    create(plan(1, 100_000, 10_000_000, 4));
    String key = issueKey();
    for (int i = 0; i < 3; i++) {
      var ok = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Authenticate(secret(key), rt));
      assertInstanceOf(TenantEntity.Admitted.class, ok.reply());
    }
    var bad = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Authenticate("wrong-secret-wrong", rt));
    assertInstanceOf(TenantEntity.Rejected.class, bad.reply());
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "a"));
  }

  @Test
  void aTenantAdminKeyAuthenticatesOnlyForAdministrationAndAnInferenceKeyOnlyForInference() {
    create(plan(100, 100_000, 10_000_000, 4));
    String inference = issueKey();
    var r = kit.<StatusReply<TenantEntity.IssuedKey>>runCommand(rt -> new TenantEntity.IssueKey("tenant-admin", rt));
    String admin = r.reply().getValue().apiKey();
    assertEquals("tenant-admin", ((TenantEntity.ApiKeyIssued) r.events().get(0)).scope());
    var bad = kit.<StatusReply<TenantEntity.IssuedKey>>runCommand(rt -> new TenantEntity.IssueKey("root", rt));
    assertTrue(bad.reply().isError() && bad.hasNoEvents(), String.valueOf(bad.reply()));

    for (boolean restarted : new boolean[] {false, true}) {
      if (restarted) {
        kit.restart();
      }
      assertInstanceOf(TenantEntity.Rejected.class, admit(admin, "by-admin-" + restarted), "it runs nothing");
      assertInstanceOf(TenantEntity.Rejected.class, kit.<TenantEntity.Admission>runCommand(
          rt -> new TenantEntity.Authenticate(secret(admin), rt)).reply());
      assertInstanceOf(TenantEntity.Admitted.class, kit.<TenantEntity.Admission>runCommand(
          rt -> new TenantEntity.AuthenticateTenantAdmin(secret(admin), rt)).reply());
      assertInstanceOf(TenantEntity.Rejected.class, kit.<TenantEntity.Admission>runCommand(
          rt -> new TenantEntity.AuthenticateTenantAdmin(secret(inference), rt)).reply());
      assertInstanceOf(TenantEntity.Admitted.class, admit(inference, "by-app-" + restarted));
    }
    var summary = kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply().getValue();
    assertEquals(List.of("inference", "tenant-admin"), summary.keys().stream().map(TenantEntity.KeyInfo::scope).toList());
  }

  @Test
  void stopsAdmittingOnceTheMonthlyBudgetIsSpent() {
    create(plan(100, 100_000, 300, 4));
    String key = issueKey();
    record(((TenantEntity.Admitted) admit(key, "a")).admissionId(), "a", 10, 10);
    var next = assertInstanceOf(TenantEntity.Rejected.class, admit(key, "b"));
    assertEquals(TenantEntity.Reason.MONTHLY_BUDGET, next.reason());
    assertTrue(next.message().contains("$0.000300"), next.message());
  }

  @Test
  void refusesInvalidPlansAndNames() {
    var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> plan(0, 1, 1, 1));
    assertTrue(e.getMessage().contains("requestsPerMinute"));
    var blank = kit.<StatusReply<TenantEntity.Summary>>runCommand(
        rt -> new TenantEntity.Create("  ", plan(1, 1, 1, 1), rt));
    assertTrue(blank.reply().isError());
    assertTrue(blank.hasNoEvents());
  }

  @Test
  void messagesCarryingASecretDoNotShowItInLogs() {
    String secret = "s3cr3t-value-that-must-not-leak";
    for (Object m : java.util.List.of(new TenantEntity.Admit(secret, "r", 1, null),
        new TenantEntity.Authenticate(secret, null), new TenantEntity.IssuedKey("k", "aimos_t_" + secret))) {
      assertFalse(m.toString().contains(secret), m.toString());
    }
  }

  @Test
  void aSuspendedTenantIsRefusedAtAdmissionUntilResumedAndItsKeysStayValid() {
    create(plan(100, 100_000, 10_000_000, 4));
    String key = issueKey();
    var suspended = kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Suspend(
        "  unpaid invoice ", rt));
    assertEquals(new TenantEntity.TenantSuspended("unpaid invoice", CLOCK.millis()), suspended.event());
    assertTrue(suspended.reply().getValue().suspended());
    assertEquals("suspended", suspended.reply().getValue().status());

    var refused = kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit(secret(key), "r1", 10, rt));
    assertTrue(refused.hasNoEvents());
    var rejected = assertInstanceOf(TenantEntity.Rejected.class, refused.reply());
    assertEquals(TenantEntity.Reason.TENANT_SUSPENDED, rejected.reason());
    assertEquals("tenant " + tenantId + " is suspended (unpaid invoice); its requests are refused and nothing is "
        + "billed until it is resumed: contact the operator", rejected.message());
    // a wrong key still learns nothing about the tenant
    assertEquals(TenantEntity.Reason.UNAUTHENTICATED, assertInstanceOf(TenantEntity.Rejected.class,
        kit.<TenantEntity.Admission>runCommand(rt -> new TenantEntity.Admit("not-a-key-secret", "r0", 10, rt))
            .reply()).reason());

    // suspending again changes nothing and keeps the first reason
    var again = kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Suspend("other", rt));
    assertTrue(again.hasNoEvents());
    assertEquals("unpaid invoice", again.reply().getValue().suspendReason());

    var resumed = kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.Resume::new);
    assertEquals(new TenantEntity.TenantResumed(CLOCK.millis()), resumed.event());
    assertFalse(resumed.reply().getValue().suspended());
    assertEquals("", resumed.reply().getValue().suspendReason());
    var admitted = assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r1"));
    assertTrue(record(admitted.admissionId(), "r1", 3, 4).isSuccess());
    assertEquals(1, kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply()
        .getValue().monthRequests());
    // resuming an active tenant changes nothing
    assertTrue(kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.Resume::new).hasNoEvents());
    kit.restart();
    assertInstanceOf(TenantEntity.Admitted.class, admit(key, "r2"));
  }

  @Test
  void refusesABadSuspensionReasonAndSuspendingATenantThatDoesNotExist() {
    String unknownId = "nobody-" + ids.incrementAndGet();
    var unknown = testKit.spawn(TenantEntity.create(unknownId, new TenantEntity.Settings(Duration.ofMinutes(1),
        Duration.ofMillis(500), CLOCK), PRICER));
    TestProbe<StatusReply<TenantEntity.Summary>> probe = testKit.createTestProbe();
    unknown.tell(new TenantEntity.Suspend("x", probe.ref()));
    assertEquals("tenant " + unknownId + " does not exist", probe.receiveMessage().getError().getMessage());
    create(plan(100, 100_000, 10_000_000, 4));
    var tooLong = kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Suspend("x".repeat(501),
        rt));
    assertTrue(tooLong.hasNoEvents());
    assertTrue(tooLong.reply().getError().getMessage().startsWith("reason must be at most 500 characters"));
    var control = kit.<StatusReply<TenantEntity.Summary>>runCommand(rt -> new TenantEntity.Suspend("a\nb", rt));
    assertTrue(control.hasNoEvents());
    assertFalse(kit.<StatusReply<TenantEntity.Summary>>runCommand(TenantEntity.GetSummary::new).reply().getValue()
        .suspended());
  }
}
