package aimos.model.directory;

import aimos.serialization.KryoSerializable;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
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
 * The names of all registered models, so they can be listed: sharded entities cannot be enumerated. A single entity
 * is enough, since it changes only when a model is registered.
 */
public final class ModelDirectory
    extends EventSourcedBehaviorWithEnforcedReplies<ModelDirectory.Command, ModelDirectory.Event, ModelDirectory.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "ModelDirectory");
  public static final String ENTITY_ID = "all";

  public sealed interface Command extends KryoSerializable {}

  public record Add(String name, ActorRef<Done> replyTo) implements Command {}

  public record List_(ActorRef<Names> replyTo) implements Command {}

  public record Names(List<String> names) implements KryoSerializable {}

  public sealed interface Event {}

  public record NameAdded(String name) implements Event {}

  public static final class State {
    final TreeSet<String> names = new TreeSet<>();
  }

  public static void init(ActorSystem<?> system) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create()));
  }

  public static EntityRef<Command> ref(ActorSystem<?> system) {
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, ENTITY_ID);
  }

  public static Behavior<Command> create() {
    return new ModelDirectory();
  }

  private ModelDirectory() {
    super(PersistenceId.of(ENTITY_KEY.name(), ENTITY_ID));
  }

  @Override
  public State emptyState() {
    return new State();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Add.class, (s, c) -> s.names.contains(c.name())
            ? Effect().reply(c.replyTo(), Done.getInstance())
            : Effect().persist(new NameAdded(c.name())).thenReply(c.replyTo(), st -> Done.getInstance()))
        .onCommand(List_.class, (s, c) -> Effect().reply(c.replyTo(), new Names(new ArrayList<>(s.names))))
        .build();
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(NameAdded.class, (s, e) -> {
          s.names.add(e.name());
          return s;
        })
        .build();
  }
}
