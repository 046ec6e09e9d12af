package aimos.billing.pricing;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The versioned prices: lists in the order they were added, with ids 1, 2, 3... and strictly increasing effective
 * times, so exactly one list is in force at any instant from the first list's effective time on. Immutable: adding
 * a list gives a new book.
 */
public final class PriceBook {
  public static final PriceBook EMPTY = new PriceBook(List.of());

  private final List<PriceList> lists;

  private PriceBook(List<PriceList> lists) {
    this.lists = lists;
  }

  /** A book of these lists, which must be numbered 1, 2, 3... with strictly increasing effective times. */
  public static PriceBook of(List<PriceList> lists) {
    PriceBook book = EMPTY;
    for (PriceList l : lists) {
      book = book.with(l);
    }
    return book;
  }

  /** The book with one more list: the next id, effective after the latest one. */
  public PriceBook with(PriceList list) {
    if (list.id() != lists.size() + 1) {
      throw new IllegalArgumentException("price list " + list.id() + " does not follow " + lists.size());
    }
    if (!lists.isEmpty() && list.effectiveFromMillis() <= latest().effectiveFromMillis()) {
      throw new IllegalArgumentException("price list " + list.id() + " is not effective after list " + lists.size());
    }
    List<PriceList> more = new ArrayList<>(lists.size() + 1);
    more.addAll(lists);
    more.add(list);
    return new PriceBook(List.copyOf(more));
  }

  /** How many lists the book holds, which is also the id of the latest one. */
  public int version() {
    return lists.size();
  }

  public boolean isEmpty() {
    return lists.isEmpty();
  }

  public List<PriceList> lists() {
    return lists;
  }

  /** The lists with ids above {@code version}: what a copy that holds the first {@code version} lacks. */
  public List<PriceList> after(int version) {
    return lists.subList(Math.max(0, Math.min(version, lists.size())), lists.size());
  }

  public PriceList latest() {
    if (lists.isEmpty()) {
      throw new IllegalStateException("the price book is empty");
    }
    return lists.get(lists.size() - 1);
  }

  /** The list in force at {@code atMillis}: the latest one effective at or before it. */
  public PriceList inForceAt(long atMillis) {
    int lo = 0;
    int hi = lists.size() - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (lists.get(mid).effectiveFromMillis() <= atMillis) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) {
      throw new IllegalStateException("no price list is in force at " + Instant.ofEpochMilli(atMillis));
    }
    return lists.get(found);
  }

  /**
   * Why {@code draft} cannot be added at {@code nowMillis}, or empty if it can. Every node prices with its own copy
   * of the book, which it refreshes well within {@code lead}: a list must not take effect before every node can
   * know it, and it must follow the latest list, so that no price of usage already recorded changes.
   */
  public Optional<String> refusal(PriceListDraft draft, long nowMillis, Duration lead) {
    long earliest = nowMillis + lead.toMillis();
    if (draft.effectiveFromMillis() < earliest) {
      return Optional.of("effectiveFrom " + Instant.ofEpochMilli(draft.effectiveFromMillis()) + " is too soon: a new "
          + "price list may take effect no earlier than " + readable(lead) + " from now (aimos.billing."
          + "price-change-lead), so that every node knows it first; the earliest now is " + Instant.ofEpochMilli(earliest));
    }
    if (!lists.isEmpty() && draft.effectiveFromMillis() <= latest().effectiveFromMillis()) {
      return Optional.of("effectiveFrom " + Instant.ofEpochMilli(draft.effectiveFromMillis()) + " must be later than "
          + "the latest price list's (id " + latest().id() + ", effective " + latest().effectiveFrom() + ")");
    }
    return Optional.empty();
  }

  private static String readable(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
