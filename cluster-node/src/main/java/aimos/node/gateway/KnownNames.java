package aimos.node.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
import org.apache.pekko.actor.typed.Scheduler;

/**
 * This node's copy of a directory of names (tenants, models), so that a request naming something that does not exist
 * is refused here instead of starting a sharded entity for it. A name not in the copy waits for a fetch that starts
 * after it was asked for, so anything listed before the request arrived is found; fetches are coalesced and at most
 * one starts per {@code minInterval}, so unknown names cost the directory a bounded rate of asks whoever sends them.
 */
public final class KnownNames {
  /** Names from some position of the directory on, and the position to ask from next. */
  public record Page(List<String> names, int next, int total) {}

  private final Set<String> names = ConcurrentHashMap.newKeySet();
  private final IntFunction<CompletionStage<Page>> fetch;
  private final Scheduler scheduler;
  private final Duration minInterval;
  private final scala.concurrent.ExecutionContext executor;

  private int offset;
  private long lastStartNanos = System.nanoTime() - Long.MAX_VALUE / 2;
  private boolean fetching;
  /** Completed by the next fetch to start; requests that missed wait for it. */
  private CompletableFuture<Void> next;

  public KnownNames(IntFunction<CompletionStage<Page>> fetch, Scheduler scheduler,
                    scala.concurrent.ExecutionContext executor, Duration minInterval) {
    this.fetch = fetch;
    this.scheduler = scheduler;
    this.minInterval = minInterval;
    this.executor = executor;
  }

  /** Whether the name is listed; fails when it is not known here and the directory does not answer. */
  public CompletionStage<Boolean> contains(String name) {
    if (names.contains(name)) {
      return CompletableFuture.completedFuture(true);
    }
    return refresh().thenApply(v -> names.contains(name));
  }

  /** Whether the name is known here, without asking anyone. */
  public boolean knownHere(String name) {
    return names.contains(name);
  }

  /** Adds a name this node listed itself. */
  public void add(String name) {
    names.add(name);
  }

  private synchronized CompletionStage<Void> refresh() {
    CompletableFuture<Void> mine = next;
    if (mine == null) {
      mine = new CompletableFuture<>();
      next = mine;
      if (!fetching) {
        startAfterInterval();
      }
    }
    return mine;
  }

  private void startAfterInterval() {
    fetching = true;
    long wait = lastStartNanos + minInterval.toNanos() - System.nanoTime();
    if (wait <= 0) {
      start();
    } else {
      scheduler.scheduleOnce(Duration.ofNanos(wait), this::start, executor);
    }
  }

  private void start() {
    CompletableFuture<Void> done;
    int from;
    synchronized (this) {
      done = next;
      next = null;
      lastStartNanos = System.nanoTime();
      from = offset;
    }
    fetchFrom(from).whenComplete((v, err) -> {
      synchronized (this) {
        fetching = false;
        if (next != null) {
          startAfterInterval();
        }
      }
      if (err != null) {
        done.completeExceptionally(err);
      } else {
        done.complete(null);
      }
    });
  }

  /** Reads every page from {@code from} on. */
  private CompletionStage<Void> fetchFrom(int from) {
    return fetch.apply(from).thenCompose(page -> {
      names.addAll(page.names());
      synchronized (this) {
        offset = Math.max(offset, page.next());
      }
      return page.next() < page.total() && !page.names().isEmpty() ? fetchFrom(page.next())
          : CompletableFuture.completedFuture(null);
    });
  }
}
