package aimos.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.api.v1.BillingUnit;
import aimos.internal.snapshots.ModelSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A model's snapshot keeps what its events built, and bytes written by snapshot schema v1 keep decoding. */
class ModelSnapshotTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(TestConfig.clusterWithInMemoryJournal()));
  private final ModelEventSerializer serializer = new ModelEventSerializer();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void recoveryFromTheSnapshotAloneKeepsDescriptionVersionsAndDefault() {
    String name = "snapshot-model";
    var kit = EventSourcedBehaviorTestKit.<ModelEntity.Command, ModelEntity.Event, ModelState>create(testKit.system(),
        ModelEntity.create(name, ModelEntity.Settings.defaults()),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt -> new ModelEntity.Register("many versions", rt));
    for (int i = 1; i < ModelEntity.SNAPSHOT_EVERY; i++) {
      int n = i;
      var added = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt -> new ModelEntity.AddVersion("v" + n,
          "echo-text", BillingUnit.TOKENS, 1000 + n, 1 + n % 3, n % 2 * 1024, n == 7 ? "other-model@v2" : "", rt));
      assertTrue(added.reply().isSuccess(), () -> added.reply().toString());
    }
    String pid = "Model|" + name;
    var stored = kit.snapshotTestKit().orElseThrow().persistedInStorage(pid);
    assertEquals(ModelEntity.SNAPSHOT_EVERY, stored.get(stored.size() - 1).first().sequenceNr());
    var before = kit.<StatusReply<ModelEntity.ModelView>>runCommand(ModelEntity.Get::new).reply().getValue();

    kit.persistenceTestKit().clearByIdPreservingSeqNumbers(pid);
    kit.restart();
    var after = kit.<StatusReply<ModelEntity.ModelView>>runCommand(ModelEntity.Get::new).reply().getValue();
    assertEquals(before, after);
    assertEquals("v" + (ModelEntity.SNAPSHOT_EVERY - 1), after.defaultVersion());
    assertEquals("other-model@v2", after.versions().get(6).fallback());
    // versions stay immutable after a snapshot recovery
    var again = kit.<StatusReply<ModelEntity.ModelView>>runCommand(rt -> new ModelEntity.AddVersion("v3",
        "echo-text", BillingUnit.TOKENS, 1, 1, 0, rt));
    assertTrue(again.reply().isError());
  }

  /** Written by snapshot schema v1. */
  static final String SNAPSHOT_V1 = "CAESDlJldmVyc2VzIHdvcmRzGiQKAnYxEgllY2hvLXRleHQaBlRPS0VOUyCgnAEogNDftKszMAEaMAoCdjIS"
      + "CWVjaG8tdGV4dBoGVE9LRU5TILDqASiI99+0qzMwAjiAEEIHZGVtby1sbQ==";

  @Test
  void decodesSnapshotBytesWrittenBySchemaV1() throws Exception {
    var proto = assertInstanceOf(ModelSnapshot.class,
        serializer.fromBinary(Base64.getDecoder().decode(SNAPSHOT_V1), "ModelSnapshot.v1"));
    ModelState s = ModelSnapshots.INSTANCE.fromJournal(proto);
    var view = s.view("demo-text", 0);
    assertEquals(new ModelEntity.ModelView("demo-text", "Reverses words", List.of(
        new ModelEntity.VersionInfo("v1", "echo-text", BillingUnit.TOKENS, 20_000, 1, 0, 1764000000000L, ""),
        new ModelEntity.VersionInfo("v2", "echo-text", BillingUnit.TOKENS, 30_000, 2, 2048, 1764000005000L,
            "demo-lm")), "v2", 0), view);
    assertTrue(s.registered);
    assertEquals(SNAPSHOT_V1, Base64.getEncoder().encodeToString(
        serializer.toBinary(ModelSnapshots.INSTANCE.toJournal(s))));
    assertEquals("ModelSnapshot.v1", serializer.manifest(proto));
  }

  @Test
  void aSnapshotIsACopyThatLaterEventsDoNotChange() {
    ModelState s = new ModelState().apply(new ModelEntity.ModelRegistered("m", "d", 1));
    var snapshot = (ModelSnapshot) ModelSnapshots.INSTANCE.toJournal(s);
    s.apply(new ModelEntity.VersionRegistered(new ModelEntity.VersionInfo("v1", "echo-text", BillingUnit.TOKENS, 1, 1,
        0, 1)));
    assertEquals(new ArrayList<>(), new ArrayList<>(snapshot.getVersionsList()));
  }

  @Test
  void decodesCommittedBytesOfARetiredVersionInEventAndSnapshot() throws Exception {
    var retired = new ModelEntity.VersionRetired("v1", 1764000008000L);
    assertEquals(retired, serializer.fromBinary(Base64.getDecoder().decode("CgJ2MRDAjuC0qzM="), "VersionRetired.v1"));
    assertEquals("VersionRetired.v1", serializer.manifest(retired));
    assertEquals("CgJ2MRDAjuC0qzM=", Base64.getEncoder().encodeToString(serializer.toBinary(retired)));
    // SNAPSHOT_V1 with v1 retired (field 4)
    String bytes = "CAESDlJldmVyc2VzIHdvcmRzGiQKAnYxEgllY2hvLXRleHQaBlRPS0VOUyCgnAEogNDftKszMAEaMAoCdjISCWVjaG8tdGV4"
        + "dBoGVE9LRU5TILDqASiI99+0qzMwAjiAEEIHZGVtby1sbSILCgJ2MRDAjuC0qzM=";
    ModelState s = ModelSnapshots.INSTANCE.fromJournal(
        serializer.fromBinary(Base64.getDecoder().decode(bytes), "ModelSnapshot.v1"));
    var view = s.view("demo-text", 0);
    assertEquals(List.of("v1"), view.retiredVersions());
    assertEquals("v2", view.defaultVersion());
    assertEquals(2, view.versions().size());
    assertEquals(bytes, Base64.getEncoder().encodeToString(serializer.toBinary(ModelSnapshots.INSTANCE.toJournal(s))));
    // a snapshot from before retirement: nothing retired
    ModelState old = ModelSnapshots.INSTANCE.fromJournal(
        serializer.fromBinary(Base64.getDecoder().decode(SNAPSHOT_V1), "ModelSnapshot.v1"));
    assertEquals(List.of(), old.view("demo-text", 0).retiredVersions());
  }

  @Test
  void retiringTheNewestVersionMakesTheNewestServingOneTheDefault() {
    ModelState s = new ModelState().apply(new ModelEntity.ModelRegistered("m", "d", 1));
    for (String v : List.of("v1", "v2", "v3")) {
      s.apply(new ModelEntity.VersionRegistered(new ModelEntity.VersionInfo(v, "echo-text", BillingUnit.TOKENS, 1, 1,
          0, 1)));
    }
    s.apply(new ModelEntity.VersionRetired("v3", 2));
    assertEquals("v2", s.defaultVersion);
    s.apply(new ModelEntity.VersionRetired("v1", 3));
    assertEquals("v2", s.defaultVersion);
    s.apply(new ModelEntity.VersionRetired("v2", 4));
    assertEquals("", s.defaultVersion);
    assertEquals(List.of("v3", "v1", "v2"), s.view("m", 0).retiredVersions());
  }
}
