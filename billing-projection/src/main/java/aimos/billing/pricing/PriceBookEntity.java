package aimos.billing.pricing;

import aimos.serialization.KryoSerializable;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
 * The durable price book of the cluster: one sharded entity, the single writer of price lists. Every node keeps a
 * copy ({@link PriceBookReplica}) and prices from it without asking here. List 1 is the configured prices, in force
 * since the epoch; the entity writes it before anything else, so every node agrees on it whatever its own config.
 */
public final class PriceBookEntity
    extends EventSourcedBehaviorWithEnforcedReplies<PriceBookEntity.Command, PriceBookEntity.Event, PriceBook> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "PriceBook");
  public static final String ENTITY_ID = "all";
  /** At most this many per-model prices in one {@link Lists} reply (but at least one list), to keep it small. */
  static final int PAGE_MODEL_PRICES = 1_000;

  public sealed interface Command extends KryoSerializable {}

  /** Adds a list, effective no earlier than now plus the price-change lead and after the latest list. */
  public record Add(PriceListDraft draft, ActorRef<AddOutcome> replyTo) implements Command {}

  /** The lists after the first {@code version} (one page of them). */
  public record Since(int version, ActorRef<Lists> replyTo) implements Command {}

  /** {@code lists} follow the asked version; {@code version} is how many lists the book holds in all. */
  public record Lists(List<PriceList> lists, int version) implements KryoSerializable {}

  public sealed interface AddOutcome extends KryoSerializable {}

  public record Added(PriceList list) implements AddOutcome {}

  /** Nothing was added; {@code reason} tells the admin what to change. */
  public record Refused(String reason) implements AddOutcome {}

  public sealed interface Event {}

  public record PriceListAdded(PriceList list) implements Event {}

  public static void init(ActorSystem<?> system, PriceCatalog configured, Duration lead) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(configured, lead, Clock.systemUTC())));
  }

  public static EntityRef<Command> ref(ActorSystem<?> system) {
    return ClusterSharding.get(system).entityRefFor(ENTITY_KEY, ENTITY_ID);
  }

  public static Behavior<Command> create(PriceCatalog configured, Duration lead, Clock clock) {
    return new PriceBookEntity(configured, lead, clock);
  }

  private final PriceCatalog configured;
  private final Duration lead;
  private final Clock clock;

  private PriceBookEntity(PriceCatalog configured, Duration lead, Clock clock) {
    super(PersistenceId.of(ENTITY_KEY.name(), ENTITY_ID));
    this.configured = configured;
    this.lead = lead;
    this.clock = clock;
  }

  @Override
  public PriceBook emptyState() {
    return PriceBook.EMPTY;
  }

  /** The configured prices as list 1, in force since the epoch, when the book has no list yet. */
  private List<Event> seedIfEmpty(PriceBook book) {
    return book.isEmpty()
        ? List.of(new PriceListAdded(new PriceList(1, 0, configured, java.util.Map.of(), clock.millis())))
        : List.of();
  }

  private static PriceBook apply(PriceBook book, List<Event> events) {
    for (Event e : events) {
      book = book.with(((PriceListAdded) e).list());
    }
    return book;
  }

  @Override
  public CommandHandlerWithReply<Command, Event, PriceBook> commandHandler() {
    return newCommandHandlerWithReplyBuilder().forAnyState()
        .onCommand(Add.class, this::add)
        .onCommand(Since.class, this::since)
        .build();
  }

  private org.apache.pekko.persistence.typed.javadsl.ReplyEffect<Event, PriceBook> add(PriceBook book, Add c) {
    List<Event> events = new ArrayList<>(seedIfEmpty(book));
    PriceBook seeded = apply(book, events);
    long now = clock.millis();
    Optional<String> refusal = seeded.refusal(c.draft(), now, lead);
    if (refusal.isPresent()) {
      // a refusal writes nothing, not even the seed: bad input changes no state
      return Effect().reply(c.replyTo(), new Refused(refusal.get()));
    }
    PriceList list = PriceList.of(seeded.version() + 1, c.draft(), now);
    events.add(new PriceListAdded(list));
    return Effect().persist(events).thenReply(c.replyTo(), b -> new Added(list));
  }

  private org.apache.pekko.persistence.typed.javadsl.ReplyEffect<Event, PriceBook> since(PriceBook book, Since c) {
    List<Event> seed = seedIfEmpty(book);
    if (!seed.isEmpty()) {
      return Effect().persist(seed).thenReply(c.replyTo(), b -> page(b, c.version()));
    }
    return Effect().reply(c.replyTo(), page(book, c.version()));
  }

  static Lists page(PriceBook book, int version) {
    List<PriceList> page = new ArrayList<>();
    int prices = 0;
    for (PriceList l : book.after(version)) {
      if (!page.isEmpty() && prices + l.modelUnitPrices().size() > PAGE_MODEL_PRICES) {
        break;
      }
      page.add(l);
      prices += l.modelUnitPrices().size();
    }
    return new Lists(List.copyOf(page), book.version());
  }

  @Override
  public EventHandler<PriceBook, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(PriceListAdded.class, (book, e) -> book.with(e.list()))
        .build();
  }
}
