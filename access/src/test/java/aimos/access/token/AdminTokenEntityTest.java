package aimos.access.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminTokenEntityTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  private final AtomicLong now = new AtomicLong(1_800_000_000_000L);
  private final Clock clock = new Clock() {
    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(now.get());
    }
  };
  private EventSourcedBehaviorTestKit<AdminTokenEntity.Command, AdminTokenEntity.Event, AdminTokenEntity.Tokens> kit;

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void fresh() {
    kit = EventSourcedBehaviorTestKit.create(testKit.system(),
        AdminTokenEntity.create(Duration.ofMinutes(10), clock),
        // commands and events go through their serializers (byte arrays compare by identity, so no equality check)
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    kit.clear();
  }

  private StatusReply<TokenRecord> issue(AdminTokenSecret.Minted m, String name, Role role) {
    return kit.<StatusReply<TokenRecord>>runCommand(rt -> new AdminTokenEntity.Issue(m.id(), name, role, m.salt(),
        m.hash(), "config:admin-token", rt)).reply();
  }

  private static String secret(AdminTokenSecret.Minted m) {
    return AdminTokenSecret.parse(m.token()).orElseThrow().secret();
  }

  @Test
  void anIssuedTokenIsAcceptedUntilRevokedAndSurvivesRestart() {
    AdminTokenSecret.Minted m = AdminTokenSecret.mint();
    TokenRecord r = issue(m, "ci pipeline", Role.OPERATOR).getValue();
    assertEquals(Role.OPERATOR, r.role());
    assertTrue(r.accepts(secret(m), now.get()));
    assertFalse(r.accepts(secret(AdminTokenSecret.mint(m.id())), now.get()), "another secret for the same id");

    kit.restart();
    TokenRecord recovered = kit.<AdminTokenEntity.Found>runCommand(rt -> new AdminTokenEntity.Get(m.id(), rt))
        .reply().record().orElseThrow();
    assertEquals(r, recovered);

    TokenRecord revoked = kit.<StatusReply<TokenRecord>>runCommand(rt -> new AdminTokenEntity.Revoke(m.id(), "alice",
        rt)).reply().getValue();
    assertTrue(revoked.revoked());
    assertEquals("alice", revoked.revokedBy());
    assertFalse(revoked.accepts(secret(m), now.get()));
    var again = kit.<StatusReply<TokenRecord>>runCommand(rt -> new AdminTokenEntity.Revoke(m.id(), "bob", rt));
    assertTrue(again.events().isEmpty(), "revoking twice writes nothing");
    assertEquals("alice", again.reply().getValue().revokedBy());
  }

  @Test
  void rotationKeepsThePreviousSecretForTheOverlapOnly() {
    AdminTokenSecret.Minted first = AdminTokenSecret.mint();
    issue(first, "deployer", Role.BILLING);
    AdminTokenSecret.Minted second = AdminTokenSecret.mint(first.id());
    TokenRecord rotated = kit.<StatusReply<TokenRecord>>runCommand(rt -> new AdminTokenEntity.Rotate(first.id(),
        second.salt(), second.hash(), "alice", rt)).reply().getValue();
    assertTrue(rotated.accepts(secret(second), now.get()));
    assertTrue(rotated.accepts(secret(first), now.get()), "the old secret during the overlap");
    now.addAndGet(Duration.ofMinutes(10).toMillis());
    assertFalse(rotated.accepts(secret(first), now.get()), "the old secret after the overlap");
    assertTrue(rotated.accepts(secret(second), now.get()));
  }

  @Test
  void badRequestsAreRefusedAndWriteNothing() {
    AdminTokenSecret.Minted m = AdminTokenSecret.mint();
    issue(m, "ops", Role.VIEWER);
    AdminTokenSecret.Minted other = AdminTokenSecret.mint();
    var sameName = kit.<StatusReply<TokenRecord>>runCommand(rt -> new AdminTokenEntity.Issue(other.id(), "ops",
        Role.VIEWER, other.salt(), other.hash(), "x", rt));
    assertTrue(sameName.reply().isError());
    assertTrue(sameName.events().isEmpty());
    var sameId = kit.<StatusReply<TokenRecord>>runCommand(rt -> new AdminTokenEntity.Issue(m.id(), "ops2",
        Role.VIEWER, other.salt(), other.hash(), "x", rt));
    assertTrue(sameId.reply().isError());
    var tenantAdmin = kit.<StatusReply<TokenRecord>>runCommand(rt -> new AdminTokenEntity.Issue(other.id(), "t",
        Role.TENANT_ADMIN, other.salt(), other.hash(), "x", rt));
    assertTrue(tenantAdmin.reply().isError());
    var unknown = kit.<StatusReply<TokenRecord>>runCommand(rt -> new AdminTokenEntity.Rotate("00000000000000ff",
        other.salt(), other.hash(), "x", rt));
    assertEquals("admin token 00000000000000ff does not exist", unknown.reply().getError().getMessage());
    assertTrue(unknown.events().isEmpty());
  }

  @Test
  void tokenNamesAreChecked() {
    assertEquals("ci-bot@example.com", AdminTokenEntity.validName("ci-bot@example.com"));
    for (String bad : new String[] {"", " lead", "x".repeat(101), "a\nb", "<script>"}) {
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> AdminTokenEntity.validName(bad), bad);
    }
  }
}
