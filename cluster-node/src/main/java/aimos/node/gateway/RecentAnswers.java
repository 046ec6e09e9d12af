package aimos.node.gateway;

import aimos.api.v1.InferResponse;
import com.google.protobuf.CodedOutputStream;
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
 * <p>Answers are kept as bytes in one ring and found through one table of positions: a few minutes of answers at
 * thousands a second held as objects (a map entry, the response, its strings) lived just long enough to be copied by
 * every young collection, which made the node's pauses about twice as long; a few arrays cost the collector next to
 * nothing. The table probes at most {@value #PROBES} slots, so a lookup costs the same however much is kept; when
 * those slots hold newer answers, the oldest of them is forgotten (this is a cache: a forgotten answer is replayed
 * without output).
 */
final class RecentAnswers {
  private static final int PROBES = 8;
  /** Expiry (8), key length (2), fingerprint length (1), output length (4); then key, fingerprint and output. */
  private static final int HEADER = 15;
  /** The table has one slot per this many bytes of ring: room for answers of this size on average. */
  private static final int BYTES_PER_SLOT = 32;
  private static final int FIRST_BYTES = 64 * 1024;

  private final int capacity;
  private final Duration ttl;
  private byte[] ring;
  /** Ring position + 1 of a kept answer (0: empty), and its key's hash. */
  private long[] positions;
  private int[] hashes;
  /** Bytes written so far: an answer at position p is intact while p >= written - ring.length. */
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
    makeRoom(size);
    int offset = (int) (written % ring.length);
    if (offset + size > ring.length) {
      // an answer never wraps around the ring's end: skip to its start
      written += ring.length - offset;
      offset = 0;
    }
    long position = written;
    put(offset, System.nanoTime() + ttl.toNanos(), 8);
    put(offset + 8, key.length, 2);
    put(offset + 10, print.length, 1);
    put(offset + 11, size - HEADER - key.length - print.length, 4);
    System.arraycopy(key, 0, ring, offset + HEADER, key.length);
    System.arraycopy(print, 0, ring, offset + HEADER + key.length, print.length);
    int bodyAt = offset + HEADER + key.length + print.length;
    writeBody(output, bodyAt, size - (bodyAt - offset));
    written += size;
    index(key, position);
  }

  /** Serializes the answer straight into the ring: no copy of its bytes on the way. */
  private void writeBody(InferResponse output, int at, int length) {
    try {
      CodedOutputStream out = CodedOutputStream.newInstance(ring, at, length);
      output.writeTo(out);
      out.checkNoSpaceLeft();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("an answer did not fit the size it was measured at", e);
    }
  }

  /**
   * Makes room for an answer of {@code size} bytes. The ring starts at {@value #FIRST_BYTES} bytes and doubles, up to
   * the budget, while nothing has been overwritten yet: memory follows use, and a node that answers little (a test's,
   * a quiet one) never holds the whole budget.
   */
  private void makeRoom(int size) {
    if (ring == null) {
      allocate(Math.min(capacity, Math.max(FIRST_BYTES, size)));
    } else if (ring.length < capacity && written + size > ring.length) {
      byte[] before = ring;
      long[] kept = positions;
      allocate((int) Math.min(capacity, Math.max(2L * before.length, written + size)));
      System.arraycopy(before, 0, ring, 0, (int) written);
      for (long p : kept) {
        if (p != 0) {
          index(keyAt(p - 1), p - 1);
        }
      }
    }
  }

  private void allocate(int bytes) {
    ring = new byte[bytes];
    int slots = Integer.highestOneBit(Math.max(PROBES, bytes / BYTES_PER_SLOT));
    positions = new long[slots];
    hashes = new int[slots];
  }

  /** Points the key's slot at the answer: its own slot if it has one, else a free one, else the oldest probed. */
  private void index(byte[] key, long position) {
    int hash = Arrays.hashCode(key);
    int chosen = holding(key, hash);
    for (int i = 0; chosen < 0 && i < PROBES; i++) {
      int slot = probe(hash, i);
      if (!live(slot)) {
        chosen = slot;
      }
    }
    if (chosen < 0) {
      chosen = probe(hash, 0);
      for (int i = 1; i < PROBES; i++) {
        int slot = probe(hash, i);
        chosen = positions[slot] < positions[chosen] ? slot : chosen;
      }
    }
    positions[chosen] = position + 1;
    hashes[chosen] = hash;
  }

  /** The slot that points at the key's answer, or -1. */
  private int holding(byte[] key, int hash) {
    for (int i = 0; i < PROBES; i++) {
      int slot = probe(hash, i);
      if (live(slot) && hashes[slot] == hash && sameKey(positions[slot] - 1, key)) {
        return slot;
      }
    }
    return -1;
  }

  private int probe(int hash, int i) {
    return (spread(hash) + i) & (positions.length - 1);
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
    int slot = holding(key, Arrays.hashCode(key));
    if (slot < 0) {
      return Optional.empty();
    }
    int offset = (int) ((positions[slot] - 1) % ring.length);
    if (get(offset, 8) - System.nanoTime() <= 0) {
      return Optional.empty();
    }
    int keyLength = (int) get(offset + 8, 2);
    int printLength = (int) get(offset + 10, 1);
    String print = new String(ring, offset + HEADER + keyLength, printLength, StandardCharsets.UTF_8);
    if (!print.equals(fingerprint)) {
      return Optional.empty();
    }
    try {
      return Optional.of(InferResponse.parseFrom(java.nio.ByteBuffer.wrap(ring,
          offset + HEADER + keyLength + printLength, (int) get(offset + 11, 4))));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a kept answer does not parse", e);
    }
  }

  /** Answers kept and not yet overwritten, for tests: those the table still points at. */
  synchronized int size() {
    int n = 0;
    for (int slot = 0; positions != null && slot < positions.length; slot++) {
      n += live(slot) ? 1 : 0;
    }
    return n;
  }

  /** Nothing is overwritten while the ring grows; once it is full, an answer lasts one lap of the ring. */
  private boolean intact(long position) {
    return position >= written - ring.length;
  }

  private byte[] keyAt(long position) {
    int offset = (int) (position % ring.length);
    return Arrays.copyOfRange(ring, offset + HEADER, offset + HEADER + (int) get(offset + 8, 2));
  }

  /** Bytes the ring holds now, for tests. */
  synchronized int ringBytes() {
    return ring == null ? 0 : ring.length;
  }

  private boolean sameKey(long position, byte[] key) {
    int offset = (int) (position % ring.length);
    int length = (int) get(offset + 8, 2);
    return length == key.length
        && Arrays.equals(ring, offset + HEADER, offset + HEADER + length, key, 0, key.length);
  }

  /** Mixes every bit of the hash into the low ones (MurmurHash3's finalizer): ids that differ in their last
   * characters have nearby hash codes, which would otherwise fill neighbouring slots and crowd each other out. */
  private static int spread(int hash) {
    int h = hash ^ (hash >>> 16);
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    return h ^ (h >>> 16);
  }

  /** Writes the low {@code bytes} bytes of {@code v} at {@code offset}, most significant first. */
  private void put(int offset, long v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) {
      ring[offset + i] = (byte) v;
      v >>>= 8;
    }
  }

  private long get(int offset, int bytes) {
    long v = 0;
    for (int i = 0; i < bytes; i++) {
      v = (v << 8) | (ring[offset + i] & 0xff);
    }
    return v;
  }
}
