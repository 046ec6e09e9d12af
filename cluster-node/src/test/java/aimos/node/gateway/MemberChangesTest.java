package aimos.node.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.Address;
import org.junit.jupiter.api.Test;

/** A run that waits on another node hears when that node is lost, before or after it started waiting. */
class MemberChangesTest {
  private static final Address NODE_2 = new Address("pekko", "aimos", "10.0.0.2", 25520);
  private static final Address NODE_3 = new Address("pekko", "aimos", "10.0.0.3", 25520);

  @Test
  void aWaitOnALostNodeEndsAndOnlyThatNodesWaits() {
    var changes = new MemberChanges(address -> false);
    var onTwo = changes.lost(NODE_2);
    var alsoOnTwo = changes.lost(NODE_2);
    var onThree = changes.lost(NODE_3);
    assertFalse(onTwo.isDone());
    changes.nodeLost(NODE_2);
    assertEquals(NODE_2, onTwo.getNow(null));
    assertEquals(NODE_2, alsoOnTwo.getNow(null));
    assertFalse(onThree.isDone(), "another node's wait goes on");
    changes.forget(NODE_3, onThree);
    assertEquals(0, changes.watchedNodes(), "waits given back or ended leave nothing behind");
  }

  @Test
  void aWaitThatStartsAfterTheNodeWasLostEndsAtOnce() {
    Set<Address> gone = ConcurrentHashMap.newKeySet();
    gone.add(NODE_2);
    var changes = new MemberChanges(gone::contains);
    assertEquals(NODE_2, changes.lost(NODE_2).getNow(null));
    assertFalse(changes.lost(NODE_3).isDone());
    assertEquals(1, changes.watchedNodes(), "only the wait on the node still there is kept");
  }

  @Test
  void thisNodesOwnWorkersAreNeverLost() {
    var changes = new MemberChanges(address -> true);
    var local = changes.lost(new Address("pekko", "aimos"));
    changes.nodeLost(new Address("pekko", "aimos"));
    assertFalse(local.isDone());
    assertEquals(0, changes.watchedNodes());
    assertTrue(changes.lost(NODE_2).isDone());
  }
}
