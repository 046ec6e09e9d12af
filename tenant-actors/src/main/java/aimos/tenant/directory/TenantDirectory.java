package aimos.tenant.directory;

import aimos.serialization.KryoSerializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;

/**
 * The ids of all tenants, in the order they were listed, so that gateways can refuse a key that names a tenant that
 * does not exist without starting its entity. Gateways keep a copy and fetch only what was listed after the part
 * they have ({@link Since}). A tenant is listed before it is created; tenants created before the directory existed
 * are listed once, by {@link Seed}.
 */
public final class TenantDirectory
    extends EventSourcedBehaviorWithEnforcedReplies<TenantDirectory.Command, TenantDirectory.Event, TenantDirectory.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "TenantDirectory");
  public static final String ENTITY_ID = "all";
  /** At most this many ids in one {@link Listing}, so that a reply stays far below a remote message's size limit. */
  public static final int PAGE = 2_000;

  public sealed interface Command extends KryoSerializable {}

  public record Add(String tenantId, ActorRef<Done> replyTo) implements Command {}

  /** The ids listed at positions {@code offset} and later (at most {@link #PAGE} of them). */
  public record Since(int offset, ActorRef<Listing> replyTo) implements Command {}

  /** Lists the ids of tenants that existed before the directory, once. */
  public record Seed(List<String> tenantIds, ActorRef<Done> replyTo) implements Command {}

  /** {@code ids} start at the asked offset; {@code total} is how many are listed in all. */
  public record Listing(List<String> ids, int total, boolean seeded) implements KryoSerializable {}

  public sealed interface Event {}

  public record TenantListed(String tenantId) implements Event {}

  public record DirectorySeeded() implements Event {}

  public static final class State {
    final List<String> ids = new ArrayList<>();
    final Set<String> known = new HashSet<>();
    boolean seeded;

    void add(String id) {
      if (known.add(id)) {
        ids.add(id);
      }
    }
  }

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create()));
  }

  public static EntityRef<Command> ref(ActorSystem<?> system) {
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, ENTITY_ID);
  }

  public static Behavior<Command> create() {
    return new TenantDirectory();
  }

  private TenantDirectory() {
    super(PersistenceId.of(ENTITY_KEY.name(), ENTITY_ID));
  }

  @Override
  public State emptyState() {
    return new State();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Add.class, (s, c) -> s.known.contains(c.tenantId())
            ? Effect().reply(c.replyTo(), Done.getInstance())
            : Effect().persist(new TenantListed(c.tenantId())).thenReply(c.replyTo(), st -> Done.getInstance()))
        .onCommand(Since.class, (s, c) -> {
          int from = Math.max(0, Math.min(c.offset(), s.ids.size()));
          int to = Math.min(s.ids.size(), from + PAGE);
          return Effect().reply(c.replyTo(), new Listing(List.copyOf(s.ids.subList(from, to)), s.ids.size(), s.seeded));
        })
        .onCommand(Seed.class, (s, c) -> {
          if (s.seeded) {
            return Effect().reply(c.replyTo(), Done.getInstance());
          }
          List<Event> events = new ArrayList<>();
          c.tenantIds().stream().distinct().filter(id -> !s.known.contains(id)).forEach(id ->
              events.add(new TenantListed(id)));
          events.add(new DirectorySeeded());
          return Effect().persist(events).thenReply(c.replyTo(), st -> Done.getInstance());
        })
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(TenantListed.class, (s, e) -> {
          s.add(e.tenantId());
          return s;
        })
        .onEvent(DirectorySeeded.class, (s, e) -> {
          s.seeded = true;
          return s;
        })
        .build();
  }
}
