package aimos.billing.rollup;

import java.util.LinkedHashMap;
import java.util.Map;

/** The rollup rows a projection touched lately, least recently used dropped first: a bounded read-through cache. */
final class RowCache {
  private final int capacity;
  private final LinkedHashMap<RollupKey, RollupRow> rows;

  RowCache(int capacity) {
    if (capacity < 1 || capacity > 1_000_000) {
      throw new IllegalArgumentException("rollup cache capacity must be 1-1000000, was " + capacity);
    }
    this.capacity = capacity;
    this.rows = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<RollupKey, RollupRow> eldest) {
        return size() > RowCache.this.capacity;
      }
    };
  }

  synchronized RollupRow get(RollupKey key) {
    return rows.get(key);
  }

  synchronized void put(RollupRow row) {
    rows.put(row.key(), row);
  }

  synchronized void forget(RollupKey key) {
    rows.remove(key);
  }

  synchronized int size() {
    return rows.size();
  }
}
