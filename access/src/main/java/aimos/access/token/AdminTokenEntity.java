package aimos.access.token;

import aimos.serialization.KryoSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;

/**
 * The cluster's admin tokens: one sharded entity, the single writer of issue, rotate and revoke. Nodes verify a
 * presented token against its record (fetched by id and cached briefly), so the entity never sees a secret.
 */
public final class AdminTokenEntity
    extends EventSourcedBehaviorWithEnforcedReplies<AdminTokenEntity.Command, AdminTokenEntity.Event,
        AdminTokenEntity.Tokens> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "AdminTokens");
  public static final String ENTITY_ID = "all";
  /** At most this many tokens, revoked ones included, so the state stays small. */
  public static final int MAX_TOKENS = 1_000;
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}");

  public sealed interface Command extends KryoSerializable {}

  public record Issue(String id, String name, Role role, byte[] salt, byte[] hash, String by,
                      ActorRef<StatusReply<TokenRecord>> replyTo) implements Command {}

  public record Rotate(String id, byte[] salt, byte[] hash, String by, ActorRef<StatusReply<TokenRecord>> replyTo)
      implements Command {}

  public record Revoke(String id, String by, ActorRef<StatusReply<TokenRecord>> replyTo) implements Command {}

  public record Get(String id, ActorRef<Found> replyTo) implements Command {}

  public record ListAll(ActorRef<Listed> replyTo) implements Command {}

  /** {@code token} is null when there is no such token. */
  public record Found(TokenRecord token) implements KryoSerializable {
    public Optional<TokenRecord> record() {
      return Optional.ofNullable(token);
    }
  }

  public record Listed(List<TokenRecord> tokens) implements KryoSerializable {}

  public sealed interface Event {}

  public record Issued(String id, String name, Role role, byte[] salt, byte[] hash, long atMillis, String by)
      implements Event {}

  public record Rotated(String id, byte[] salt, byte[] hash, long atMillis, String by, long previousValidUntilMillis)
      implements Event {}

  public record Revoked(String id, long atMillis, String by) implements Event {}

  /** The state: tokens by id, in issue order. */
  public static final class Tokens {
    final Map<String, TokenRecord> byId = new LinkedHashMap<>();

    public Optional<TokenRecord> get(String id) {
      return Optional.ofNullable(byId.get(id));
    }

    public List<TokenRecord> all() {
      return List.copyOf(byId.values());
    }
  }

  public static void init(ActorSystem<?> system, Duration rotationOverlap) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(rotationOverlap, Clock.systemUTC())));
  }

  public static EntityRef<Command> ref(ActorSystem<?> system) {
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, ENTITY_ID);
  }

  public static Behavior<Command> create(Duration rotationOverlap, Clock clock) {
    return new AdminTokenEntity(rotationOverlap, clock);
  }

  private final Duration rotationOverlap;
  private final Clock clock;

  private AdminTokenEntity(Duration rotationOverlap, Clock clock) {
    super(PersistenceId.of(ENTITY_KEY.name(), ENTITY_ID));
    this.rotationOverlap = rotationOverlap;
    this.clock = clock;
  }

  /** Checks a token's name: what operators see in listings and the audit log. */
  public static String validName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("name must be 1-100 characters of letters, digits, spaces and ._@-, "
          + "starting with a letter or digit");
    }
    return name;
  }

  @Override
  public Tokens emptyState() {
    return new Tokens();
  }

  @Override
  public CommandHandlerWithReply<Command, Event, Tokens> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Issue.class, this::issue)
        .onCommand(Rotate.class, this::rotate)
        .onCommand(Revoke.class, this::revoke)
        .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), new Found(s.byId.get(c.id()))))
        .onCommand(ListAll.class, (s, c) -> Effect().reply(c.replyTo(), new Listed(s.all())))
        .build();
  }

  private ReplyEffect<Event, Tokens> issue(Tokens s, Issue c) {
    if (!AdminTokenSecret.isValidId(c.id()) || s.byId.containsKey(c.id())) {
      return Effect().reply(c.replyTo(), StatusReply.error("token id " + c.id() + " is taken or malformed; try again"));
    }
    if (c.role() == Role.TENANT_ADMIN) {
      return Effect().reply(c.replyTo(), StatusReply.error("an admin token cannot have the tenant-admin role"));
    }
    if (s.byId.size() >= MAX_TOKENS) {
      return Effect().reply(c.replyTo(), StatusReply.error("the cluster holds " + MAX_TOKENS
          + " admin tokens, the most it keeps; revoked tokens count too"));
    }
    for (TokenRecord t : s.byId.values()) {
      if (!t.revoked() && t.name().equals(c.name())) {
        return Effect().reply(c.replyTo(), StatusReply.error("a token named '" + c.name()
            + "' already exists; revoke it or choose another name"));
      }
    }
    Issued e = new Issued(c.id(), c.name(), c.role(), c.salt(), c.hash(), clock.millis(), c.by());
    return Effect().persist(e).thenReply(c.replyTo(), st -> StatusReply.success(st.byId.get(c.id())));
  }

  private ReplyEffect<Event, Tokens> rotate(Tokens s, Rotate c) {
    TokenRecord t = s.byId.get(c.id());
    if (t == null || t.revoked()) {
      return Effect().reply(c.replyTo(), StatusReply.error(missing(c.id(), t)));
    }
    long now = clock.millis();
    Rotated e = new Rotated(c.id(), c.salt(), c.hash(), now, c.by(), now + rotationOverlap.toMillis());
    return Effect().persist(e).thenReply(c.replyTo(), st -> StatusReply.success(st.byId.get(c.id())));
  }

  private ReplyEffect<Event, Tokens> revoke(Tokens s, Revoke c) {
    TokenRecord t = s.byId.get(c.id());
    if (t == null) {
      return Effect().reply(c.replyTo(), StatusReply.error(missing(c.id(), null)));
    }
    if (t.revoked()) {
      // revoking twice is harmless and writes nothing
      return Effect().reply(c.replyTo(), StatusReply.success(t));
    }
    return Effect().persist(new Revoked(c.id(), clock.millis(), c.by()))
        .thenReply(c.replyTo(), st -> StatusReply.success(st.byId.get(c.id())));
  }

  private static String missing(String id, TokenRecord t) {
    return t == null ? "admin token " + id + " does not exist" : "admin token " + id + " is revoked";
  }

  @Override
  public EventHandler<Tokens, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Issued.class, (s, e) -> {
          s.byId.put(e.id(), new TokenRecord(e.id(), e.name(), e.role(), e.salt(), e.hash(), e.atMillis(), e.by(),
              new byte[0], new byte[0], 0, 0, 0, ""));
          return s;
        })
        .onEvent(Rotated.class, (s, e) -> {
          s.byId.computeIfPresent(e.id(), (id, t) -> t.rotated(e.salt(), e.hash(), e.atMillis(),
              e.previousValidUntilMillis()));
          return s;
        })
        .onEvent(Revoked.class, (s, e) -> {
          s.byId.computeIfPresent(e.id(), (id, t) -> t.revokedAt(e.atMillis(), e.by()));
          return s;
        })
        .build();
  }
}
