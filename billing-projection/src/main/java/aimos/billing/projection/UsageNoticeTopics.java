package aimos.billing.projection;

import aimos.tenant.TenantEntity;
import aimos.tenant.UsageNotices;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * One pub-sub topic per usage tag on this node: tenant entities publish their {@link UsageFeed.Notice}s to their
 * tag's topic, and the tag's feed, on whichever node runs it, subscribes. A topic sends only to nodes with
 * subscribers, so a notice crosses the network at most once. A notice published while no feed subscribes is lost;
 * the feed reads every tenant when it starts.
 */
public final class UsageNoticeTopics implements UsageNotices {
  private final List<ActorRef<Topic.Command<UsageFeed.Notice>>> topics;

  private UsageNoticeTopics(List<ActorRef<Topic.Command<UsageFeed.Notice>>> topics) {
    this.topics = topics;
  }

  public static UsageNoticeTopics start(ActorSystem<?> system) {
    List<ActorRef<Topic.Command<UsageFeed.Notice>>> topics = new ArrayList<>(TenantEntity.TAG_COUNT);
    for (String tag : TenantEntity.TAGS) {
      topics.add(system.systemActorOf(Topic.create(UsageFeed.Notice.class, "aimos-usage-notices-" + tag),
          "usage-notices-" + tag, Props.empty()));
    }
    return new UsageNoticeTopics(List.copyOf(topics));
  }

  @Override
  public void usageWritten(String tenantId) {
    topics.get(TenantEntity.tagIndexOf(tenantId)).tell(Topic.publish(new UsageFeed.Notice(tenantId)));
  }

  void subscribe(String tag, ActorRef<UsageFeed.Notice> feed) {
    topics.get(TenantEntity.TAGS.indexOf(tag)).tell(Topic.subscribe(feed));
  }
}
