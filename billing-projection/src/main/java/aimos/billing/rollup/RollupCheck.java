package aimos.billing.rollup;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Compares one tenant's rollup rows with what its journal implies, and repairs them. For a stored row that has
 * folded events up to sequence number L, the truth is the sum of the row's journal events up to L (or up to the
 * row's newest event older than the grace period, if that is later: the projection missed it). A repair writes
 * those absolute values only if the row still has the revision that was read, so a projection write that happened
 * in between is never lost; a lost race is left for the next pass. A row that no event explains is deleted the same
 * way (rollups are derived data; the ledger's rows are never deleted).
 */
public final class RollupCheck {
  public static final int EXAMPLES = 100;

  private final RollupRepository rollups;

  public RollupCheck(RollupRepository rollups) {
    this.rollups = rollups;
  }

  /** Rows compared, rows found wrong (up to {@value #EXAMPLES} of them named), rows repaired. */
  public record Result(int checked, int wrong, int repaired, List<String> examples) {}

  /**
   * @param events the tenant's usage events read from its journal, in any order
   * @param highestSequenceNr the highest sequence number that journal read saw: rows that folded later events are
   *     newer than this check and are left alone
   * @param cutoffMillis events recorded after this may not be in the rollups yet
   */
  public CompletionStage<Result> check(String tenantId, List<SequencedUsage> events, long highestSequenceNr,
                                       long cutoffMillis, boolean repair) {
    Map<RollupKey, List<SequencedUsage>> byRow = new HashMap<>();
    for (SequencedUsage u : events) {
      for (RollupKey key : RollupKey.of(u.event())) {
        byRow.computeIfAbsent(key, k -> new ArrayList<>()).add(u);
      }
    }
    byRow.values().forEach(l -> l.sort(Comparator.comparingLong(SequencedUsage::sequenceNr)));
    Set<String> months = new TreeSet<>();
    Set<String> days = new TreeSet<>();
    byRow.keySet().forEach(k -> (k.grain() == Grain.DAY ? months : days).add(k.partition()));
    List<CompletableFuture<List<RollupRow>>> reads = new ArrayList<>();
    months.forEach(m -> reads.add(rollups.days(tenantId, m).toCompletableFuture()));
    days.forEach(d -> reads.add(rollups.hours(tenantId, d).toCompletableFuture()));
    return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(v -> {
      Map<RollupKey, RollupRow> stored = new HashMap<>();
      reads.forEach(r -> r.join().forEach(row -> stored.put(row.key(), row)));
      Set<RollupKey> keys = new LinkedHashSet<>(byRow.keySet());
      keys.addAll(stored.keySet());
      List<String> wrong = new ArrayList<>();
      List<CompletableFuture<Boolean>> repairs = new ArrayList<>();
      int checked = 0;
      for (RollupKey key : keys) {
        RollupRow have = stored.get(key);
        if (have != null && have.lastSequenceNr() > highestSequenceNr) {
          continue;
        }
        checked++;
        RollupRow expected = expected(key, byRow.getOrDefault(key, List.of()), have, cutoffMillis);
        boolean ok = have == null ? expected.lastSequenceNr() == 0 : have.sameContent(expected);
        if (ok) {
          continue;
        }
        wrong.add(key.toString());
        if (repair) {
          long revision = have == null ? 0 : have.revision();
          repairs.add((expected.lastSequenceNr() == 0
              ? rollups.delete(key, revision)
              : rollups.write(expected, revision)).toCompletableFuture());
        }
      }
      int checkedRows = checked;
      return CompletableFuture.allOf(repairs.toArray(CompletableFuture[]::new)).thenApply(x -> {
        int repaired = (int) repairs.stream().filter(CompletableFuture::join).count();
        wrong.sort(null);
        return new Result(checkedRows, wrong.size(), repaired,
            List.copyOf(wrong.subList(0, Math.min(EXAMPLES, wrong.size()))));
      });
    });
  }

  /** What the row must hold: its events up to the later of its last sequence number and its last settled event. */
  static RollupRow expected(RollupKey key, List<SequencedUsage> events, RollupRow have, long cutoffMillis) {
    long settled = 0;
    for (SequencedUsage u : events) {
      if (u.event().recordedAtMillis() <= cutoffMillis) {
        settled = Math.max(settled, u.sequenceNr());
      }
    }
    long upTo = Math.max(have == null ? 0 : have.lastSequenceNr(), settled);
    RollupRow row = RollupRow.empty(key);
    for (SequencedUsage u : events) {
      if (u.sequenceNr() <= upTo) {
        row = row.fold(u);
      }
    }
    return row;
  }
}
