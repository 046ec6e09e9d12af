package aimos.node.gateway;

import aimos.api.v1.InferResponse;
import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * The outputs this node gave lately, so that a retry that the tenant answers from its recording (without running the
 * model) gets the output too when it comes back to the same node within {@code ttl}. Bounded in bytes; the oldest go
 * first. A retry on another node, or later, gets the recorded usage without output.
 *
 * <p>Answers are kept as bytes in one ring and found through one fixed table of positions: a few minutes of answers
 * at thousands a second held as objects (a map entry, the response, its strings) lived just long enough to be copied
 * by every young collection, which made the node's pauses about twice as long. Two large arrays are never copied.
 * The table probes at most {@value #PROBES} slots, so a lookup costs the same however much is kept; when those slots
 * hold newer answers, the oldest of them is forgotten (this is a cache: a forgotten answer is replayed without output).
 */
final class RecentAnswers {
  private static final int PROBES = 8;
  /** Expiry (8), key length (2), fingerprint length (1), output length (4); then key, fingerprint and output. */
  private static final int HEADER = 15;
  /** The table has one slot per this many bytes of ring: room for answers of this size on average. */
  private static final int BYTES_PER_SLOT = 64;

  private final int capacity;
  private final Duration ttl;
  private byte[] ring;
  /** Ring position + 1 of a kept answer (0: empty), and its key's hash. */
  private long[] positions;
  private int[] hashes;
  /** Bytes written so far: an answer at position p is intact while p >= written - capacity. */
  private long written;

  RecentAnswers(long maxBytes, Duration ttl) {
    this.capacity = (int) Math.max(0, Math.min(maxBytes, 1L << 30));
    this.ttl = ttl;
  }

  private static byte[] key(String tenantId, String requestId) {
    return (tenantId + "\n" + requestId).getBytes(StandardCharsets.UTF_8);
  }

  /** Keeps the output fields of an answer; one larger than a sixteenth of the budget is not kept. */
  synchronized void keep(String tenantId, String requestId, String fingerprint, InferResponse output) {
    byte[] key = key(tenantId, requestId);
    byte[] print = fingerprint.getBytes(StandardCharsets.UTF_8);
    int size = HEADER + key.length + print.length + output.getSerializedSize();
    if (capacity <= 0 || size > capacity / 16 || key.length > 0xffff || print.length > 0xff) {
      return;
    }
    if (ring == null) {
      ring = new byte[capacity];
      int slots = Integer.highestOneBit(Math.max(PROBES, capacity / BYTES_PER_SLOT));
      positions = new long[slots];
      hashes = new int[slots];
    }
    int offset = (int) (written % capacity);
    if (offset + size > capacity) {
      // an answer never wraps around the ring's end: skip to its start
      written += capacity - offset;
      offset = 0;
    }
    long position = written;
    putLong(offset, System.nanoTime() + ttl.toNanos());
    ring[offset + 8] = (byte) (key.length >>> 8);
    ring[offset + 9] = (byte) key.length;
    ring[offset + 10] = (byte) print.length;
    putInt(offset + 11, size - HEADER - key.length - print.length);
    System.arraycopy(key, 0, ring, offset + HEADER, key.length);
    System.arraycopy(print, 0, ring, offset + HEADER + key.length, print.length);
    byte[] body = output.toByteArray();
    System.arraycopy(body, 0, ring, offset + HEADER + key.length + print.length, body.length);
    written += size;
    index(key, position);
  }

  /** Points the key's slot at the answer: its own slot if it has one, else a free one, else the oldest probed. */
  private void index(byte[] key, long position) {
    int hash = Arrays.hashCode(key);
    int chosen = -1;
    for (int i = 0; i < PROBES; i++) {
      int slot = (spread(hash) + i) & (positions.length - 1);
      boolean live = live(slot);
      if (live && hashes[slot] == hash && sameKey(positions[slot] - 1, key)) {
        chosen = slot;
        break;
      }
      boolean better = chosen < 0 || (live(chosen) && (!live || positions[slot] < positions[chosen]));
      if (better) {
        chosen = slot;
      }
    }
    positions[chosen] = position + 1;
    hashes[chosen] = hash;
  }

  /** Whether the slot points at an answer that is still in the ring. */
  private boolean live(int slot) {
    return positions[slot] != 0 && intact(positions[slot] - 1);
  }

  /** The kept output of the request id, if it is the same input's and not expired. */
  synchronized Optional<InferResponse> find(String tenantId, String requestId, String fingerprint) {
    if (ring == null) {
      return Optional.empty();
    }
    byte[] key = key(tenantId, requestId);
    int hash = Arrays.hashCode(key);
    for (int i = 0; i < PROBES; i++) {
      int slot = (spread(hash) + i) & (positions.length - 1);
      long stored = positions[slot] - 1;
      if (!live(slot) || hashes[slot] != hash || !sameKey(stored, key)) {
        continue;
      }
      int offset = (int) (stored % capacity);
      if (getLong(offset) - System.nanoTime() <= 0) {
        return Optional.empty();
      }
      int keyLength = ((ring[offset + 8] & 0xff) << 8) | (ring[offset + 9] & 0xff);
      int printLength = ring[offset + 10] & 0xff;
      String print = new String(ring, offset + HEADER + keyLength, printLength, StandardCharsets.UTF_8);
      if (!print.equals(fingerprint)) {
        return Optional.empty();
      }
      try {
        return Optional.of(InferResponse.parseFrom(java.nio.ByteBuffer.wrap(ring,
            offset + HEADER + keyLength + printLength, getInt(offset + 11))));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("a kept answer does not parse", e);
      }
    }
    return Optional.empty();
  }

  /** Answers kept and not yet overwritten, for tests: those the table still points at. */
  synchronized int size() {
    int n = 0;
    if (positions != null) {
      for (long p : positions) {
        n += p != 0 && intact(p - 1) ? 1 : 0;
      }
    }
    return n;
  }

  private boolean intact(long position) {
    return position >= written - capacity;
  }

  private boolean sameKey(long position, byte[] key) {
    int offset = (int) (position % capacity);
    int length = ((ring[offset + 8] & 0xff) << 8) | (ring[offset + 9] & 0xff);
    return length == key.length
        && Arrays.equals(ring, offset + HEADER, offset + HEADER + length, key, 0, key.length);
  }

  private static int spread(int hash) {
    return hash ^ (hash >>> 16);
  }

  private void putLong(int offset, long v) {
    for (int i = 7; i >= 0; i--) {
      ring[offset + i] = (byte) v;
      v >>>= 8;
    }
  }

  private long getLong(int offset) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (ring[offset + i] & 0xff);
    }
    return v;
  }

  private void putInt(int offset, int v) {
    for (int i = 3; i >= 0; i--) {
      ring[offset + i] = (byte) v;
      v >>>= 8;
    }
  }

  private int getInt(int offset) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
      v = (v << 8) | (ring[offset + i] & 0xff);
    }
    return v;
  }
}
