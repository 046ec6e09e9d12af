package aimos.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import aimos.api.v1.BillingUnit;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * During a rolling upgrade, nodes of the version before request fingerprints exchange tenant messages with nodes of
 * this one: each reads the other's bytes. The earlier node is played by a Kryo that registers the earlier shapes under
 * the same ids, as that version did.
 */
class TenantMessagesCompatibilityTest {
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.load());
  private static final SerializerWithStringManifest serializer = (SerializerWithStringManifest)
      SerializationExtension.get(testKit.system()).findSerializerFor(new TenantEntity.Release("any"));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static Kryo earlierNode() {
    Kryo kryo = new Kryo();
    kryo.setRegistrationRequired(true);
    kryo.register(aimos.api.v1.BillingUnit.class, 117);
    kryo.register(Units.class, 101);
    kryo.register(TenantMessagesV1.Admit.class, 107);
    kryo.register(TenantMessagesV1.RecordUsage.class, 108);
    kryo.register(TenantMessagesV1.Release.class, 109);
    kryo.register(TenantMessagesV1.Recorded.class, 113);
    kryo.register(TenantMessagesV1.IssueKey.class, 104);
    kryo.register(TenantMessagesV1.KeyInfo.class, 115);
    kryo.register(Plan.class, 100);
    kryo.register(TenantMessagesV1.Summary.class, 116);
    kryo.register(java.util.ArrayList.class, 21);
    return kryo;
  }

  private static <T> T earlierReads(Object now, Class<T> earlierType) {
    return earlierNode().readObject(new Input(serializer.toBinary(now)), earlierType);
  }

  private static Object laterReads(Object earlier, Class<?> nowType) throws Exception {
    Output out = new Output(256, -1);
    earlierNode().writeObject(out, earlier);
    return serializer.fromBinary(out.toBytes(), nowType.getName());
  }

  @Test
  void admitAndReleaseCrossVersions() throws Exception {
    var admit = new TenantEntity.Admit("secret-1234567890", "r-1", "fp", "demo-text", 12, 99, null);
    assertEquals(new TenantMessagesV1.Admit("secret-1234567890", "r-1", 12, 99, null),
        earlierReads(admit, TenantMessagesV1.Admit.class));
    assertEquals(admit, serializer.fromBinary(serializer.toBinary(admit), serializer.manifest(admit)));
    assertEquals(new TenantEntity.Admit("secret-1234567890", "r-2", "", "", 3, 4, null),
        laterReads(new TenantMessagesV1.Admit("secret-1234567890", "r-2", 3, 4, null), TenantEntity.Admit.class));

    // the attempt came after fingerprint and model: a node of the version before reads its own shape and stops
    var withAttempt = new TenantEntity.Admit("secret-1234567890", "r-3", "fp", "demo-text", 12, 99, null, "gw-1");
    assertEquals(new TenantMessagesV1.Admit("secret-1234567890", "r-3", 12, 99, null),
        earlierReads(withAttempt, TenantMessagesV1.Admit.class));
    assertEquals(withAttempt, serializer.fromBinary(serializer.toBinary(withAttempt), serializer.manifest(withAttempt)));
    // and the bytes that version writes (no attempt) read as an Admit that names no attempt
    Output before = new Output(256, -1);
    earlierNode().writeObject(before, new TenantMessagesV1.Admit("secret-1234567890", "r-4", 5, 6, null));
    before.writeString("fp-4");
    before.writeString("demo-text");
    assertEquals(new TenantEntity.Admit("secret-1234567890", "r-4", "fp-4", "demo-text", 5, 6, null, ""),
        serializer.fromBinary(before.toBytes(), TenantEntity.Admit.class.getName()));

    assertEquals(new TenantMessagesV1.Release("adm-1"),
        earlierReads(TenantEntity.Release.modelFailed("adm-1", "w#1"), TenantMessagesV1.Release.class));
    var failed = TenantEntity.Release.modelFailed("adm-3", "w#2");
    assertEquals(failed, serializer.fromBinary(serializer.toBinary(failed), serializer.manifest(failed)));
    assertEquals(new TenantEntity.Release("adm-2"),
        laterReads(new TenantMessagesV1.Release("adm-2"), TenantEntity.Release.class));
  }

  @Test
  void usageAndItsRecordingCrossVersions() throws Exception {
    var usage = new TenantEntity.RecordUsage("adm", "r-1", "fp", "m", "v1", BillingUnit.TOKENS, 20_000,
        Units.tokens(3, 4), 1500, null);
    assertEquals(new TenantMessagesV1.RecordUsage("adm", "r-1", "m", "v1", BillingUnit.TOKENS, 20_000,
        Units.tokens(3, 4), 1500, null), earlierReads(usage, TenantMessagesV1.RecordUsage.class));
    assertEquals(new TenantEntity.RecordUsage("adm", "r-2", "", "m", "v1", BillingUnit.TOKENS, 1, Units.tokens(1, 1),
        2, null), laterReads(new TenantMessagesV1.RecordUsage("adm", "r-2", "m", "v1", BillingUnit.TOKENS, 1,
        Units.tokens(1, 1), 2, null), TenantEntity.RecordUsage.class));

    var recorded = new TenantEntity.Recorded("r-1", "m", "v1", Units.image(), 10_000, true, "fp");
    assertEquals(new TenantMessagesV1.Recorded("r-1", "m", "v1", Units.image(), 10_000, true),
        earlierReads(recorded, TenantMessagesV1.Recorded.class));
    assertEquals(new TenantEntity.Recorded("r-1", "m", "v1", Units.image(), 10_000, false, ""),
        laterReads(new TenantMessagesV1.Recorded("r-1", "m", "v1", Units.image(), 10_000, false),
            TenantEntity.Recorded.class));
  }

  @Test
  void keyIssuingAndKeyListsCrossVersions() throws Exception {
    var issue = new TenantEntity.IssueKey(KeyScope.TENANT_ADMIN.label(), null);
    assertEquals(new TenantMessagesV1.IssueKey(null), earlierReads(issue, TenantMessagesV1.IssueKey.class));
    assertEquals(issue, serializer.fromBinary(serializer.toBinary(issue), serializer.manifest(issue)));
    // an earlier node asks for the only key it knows: an inference key
    var fromEarlier = (TenantEntity.IssueKey) laterReads(new TenantMessagesV1.IssueKey(null), TenantEntity.IssueKey.class);
    assertEquals(KeyScope.INFERENCE, KeyScope.ofLabel(fromEarlier.scope()));

    var info = new TenantEntity.KeyInfo("key-0a1b2c3d4e5f", 5, true, "tenant-admin");
    assertEquals(new TenantMessagesV1.KeyInfo("key-0a1b2c3d4e5f", 5, true),
        earlierReads(info, TenantMessagesV1.KeyInfo.class));
    assertEquals(new TenantEntity.KeyInfo("key-0a1b2c3d4e5f", 6, false, ""),
        laterReads(new TenantMessagesV1.KeyInfo("key-0a1b2c3d4e5f", 6, false), TenantEntity.KeyInfo.class));
  }

  @Test
  void summariesCrossVersionsAndOnesFromEarlierNodesReadAsActive() throws Exception {
    var plan = new Plan(600, 100_000, 100_000_000, 8, 4);
    var keys = new java.util.ArrayList<TenantEntity.KeyInfo>();
    var now = new TenantEntity.Summary("acme", "Acme", plan, keys, "2026-12", 3, 40, 500, true, "unpaid", 77);
    assertEquals(new TenantMessagesV1.Summary("acme", "Acme", plan, keys, "2026-12", 3, 40, 500),
        earlierReads(now, TenantMessagesV1.Summary.class));
    assertEquals(now, serializer.fromBinary(serializer.toBinary(now), serializer.manifest(now)));
    var fromEarlier = (TenantEntity.Summary) laterReads(new TenantMessagesV1.Summary("acme", "Acme", plan, keys,
        "2026-12", 3, 40, 500), TenantEntity.Summary.class);
    assertEquals(new TenantEntity.Summary("acme", "Acme", plan, keys, "2026-12", 3, 40, 500), fromEarlier);
    assertEquals("active", fromEarlier.status());
  }
}
