package aimos.tenant.directory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TenantDirectoryTest {
  private static final ActorTestKit testKit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));

  private EventSourcedBehaviorTestKit<TenantDirectory.Command, TenantDirectory.Event, TenantDirectory.State> kit;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    kit = EventSourcedBehaviorTestKit.create(testKit.system(), TenantDirectory.create(),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, false, true, true, false));
    kit.clear();
  }

  private TenantDirectory.Listing since(int offset) {
    return kit.<TenantDirectory.Listing>runCommand(rt -> new TenantDirectory.Since(offset, rt)).reply();
  }

  @Test
  void listsEachTenantOnceInOrderAndGivesOnlyWhatCameAfterAnOffset() {
    kit.<org.apache.pekko.Done>runCommand(rt -> new TenantDirectory.Add("acme", rt));
    kit.<org.apache.pekko.Done>runCommand(rt -> new TenantDirectory.Add("globex", rt));
    var again = kit.<org.apache.pekko.Done>runCommand(rt -> new TenantDirectory.Add("acme", rt));
    assertTrue(again.hasNoEvents());
    assertEquals(List.of("acme", "globex"), since(0).ids());
    assertEquals(List.of("globex"), since(1).ids());
    assertEquals(List.of(), since(2).ids());
    assertEquals(2, since(7).total());

    kit.restart();
    assertEquals(List.of("acme", "globex"), since(0).ids());
  }

  @Test
  void answersInPagesSoThatARemoteReplyStaysSmall() {
    List<String> many = IntStream.range(0, TenantDirectory.PAGE + 5).mapToObj(i -> "t" + i).toList();
    kit.<org.apache.pekko.Done>runCommand(rt -> new TenantDirectory.Seed(many, rt));
    var first = since(0);
    assertEquals(TenantDirectory.PAGE, first.ids().size());
    assertEquals(TenantDirectory.PAGE + 5, first.total());
    assertEquals(5, since(TenantDirectory.PAGE).ids().size());
  }

  @Test
  void seedsOnceWithTheTenantsThatExistedBefore() {
    kit.<org.apache.pekko.Done>runCommand(rt -> new TenantDirectory.Add("new-one", rt));
    assertFalse(since(0).seeded());
    kit.<org.apache.pekko.Done>runCommand(rt -> new TenantDirectory.Seed(List.of("old-1", "new-one", "old-2", "old-1"), rt));
    var listing = since(0);
    assertTrue(listing.seeded());
    assertEquals(List.of("new-one", "old-1", "old-2"), listing.ids());
    var second = kit.<org.apache.pekko.Done>runCommand(rt -> new TenantDirectory.Seed(List.of("late"), rt));
    assertTrue(second.hasNoEvents());
  }
}
