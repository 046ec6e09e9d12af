package aimos.access.privacy;

import com.datastax.oss.driver.api.core.cql.Row;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pekko.Done;
import org.apache.pekko.stream.connectors.cassandra.javadsl.CassandraSession;

/**
 * Each tenant's data key ({@code aimos/access/privacy.cql}), made on the first personal data the tenant stores, and
 * what seals and opens that data. Keys are cached for {@code cacheTtl}, so a node notices an erasure made through
 * another node within that time; an erased key is never made again.
 */
public final class TenantDataKeys {
  /** The tenant was erased: nothing personal can be stored for it any more. */
  public static final class TenantErased extends RuntimeException {
    public TenantErased(String tenantId, Instant at) {
      super("tenant " + tenantId + " was erased at " + at + "; its id cannot hold personal data again");
    }
  }

  /** What is known of a tenant's key: the key, or when it was erased, or neither (never made). */
  public record KeyState(Optional<SecretKey> key, Optional<Instant> erasedAt) {
    static final KeyState NONE = new KeyState(Optional.empty(), Optional.empty());

    /** The text of a stored value; a sealed one of an erased (or keyless) tenant reads {@value SealedText#ERASED}. */
    public String open(String tenantId, String field, String stored) {
      if (!SealedText.isSealed(stored)) {
        return stored;
      }
      return key.map(k -> SealedText.open(k, tenantId, field, stored)).orElse(SealedText.ERASED);
    }
  }

  private record Cached(KeyState state, long loadedNanos) {}

  private static final Pattern KEYSPACE = Pattern.compile("[a-zA-Z][a-zA-Z0-9_]{0,47}");
  private static final int MAX_CACHED = 10_000;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final CassandraSession session;
  private final String table;
  private final Duration cacheTtl;
  private final Clock clock;
  private final LongSupplier nanos;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();

  public TenantDataKeys(CassandraSession session, String keyspace, Duration cacheTtl, Clock clock,
                        LongSupplier nanos) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    this.session = session;
    this.table = keyspace + ".tenant_data_keys";
    this.cacheTtl = cacheTtl;
    this.clock = clock;
    this.nanos = nanos;
  }

  public static CompletionStage<Done> createTables(CassandraSession session, String keyspace) {
    if (!KEYSPACE.matcher(keyspace).matches()) {
      throw new IllegalArgumentException("invalid keyspace name '" + keyspace + "'");
    }
    String ddl;
    try (var in = TenantDataKeys.class.getResourceAsStream("/aimos/access/privacy.cql")) {
      ddl = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    String stmt = ddl.lines().filter(l -> !l.strip().startsWith("--")).reduce("", (a, b) -> a + b + "\n")
        .replace("${keyspace}", keyspace).replace(";", "").strip();
    return session.executeDDL(stmt);
  }

  /** Seals {@code text} with the tenant's key, making the key first if the tenant has none. */
  public CompletionStage<String> seal(String tenantId, String field, String text) {
    return keyForSealing(tenantId).thenApply(key -> SealedText.seal(key, tenantId, field, text));
  }

  /** The tenant's key state, from the cache while it is fresh. */
  public CompletionStage<KeyState> state(String tenantId) {
    Cached c = cache.get(tenantId);
    if (c != null && (c.state().erasedAt().isPresent() || nanos.getAsLong() - c.loadedNanos() < cacheTtl.toNanos())) {
      return CompletableFuture.completedFuture(c.state());
    }
    return session.selectOne("SELECT data_key, erased_at FROM " + table + " WHERE tenant_id = ?", tenantId)
        .thenApply(row -> remember(tenantId, row.map(TenantDataKeys::stateOf).orElse(KeyState.NONE)));
  }

  /** The text of one stored value of the tenant. */
  public CompletionStage<String> open(String tenantId, String field, String stored) {
    if (!SealedText.isSealed(stored)) {
      return CompletableFuture.completedFuture(stored);
    }
    return state(tenantId).thenApply(s -> s.open(tenantId, field, stored));
  }

  /**
   * Destroys the tenant's key (a tenant that never had one gets an erased row, so none is made later); every sealed
   * value of the tenant reads as {@value SealedText#ERASED} from then on. Returns when it was erased (the first
   * erasure's time if it already was).
   */
  public CompletionStage<Instant> erase(String tenantId) {
    return session.selectOne("SELECT data_key, erased_at FROM " + table + " WHERE tenant_id = ?", tenantId)
        .thenCompose(row -> {
          Optional<Instant> already = row.map(TenantDataKeys::stateOf).flatMap(KeyState::erasedAt);
          if (already.isPresent()) {
            remember(tenantId, new KeyState(Optional.empty(), already));
            return CompletableFuture.completedFuture(already.get());
          }
          // what Cassandra keeps of a timestamp, so a second call answers the same time
          Instant now = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
          // overwritten, not deleted: the newer cell wins on every replica, and no tombstone can expire into a
          // resurrected key
          return session.executeWrite("UPDATE " + table + " SET data_key = ?, erased_at = ? WHERE tenant_id = ?",
                  ByteBuffer.allocate(0), now, tenantId)
              .thenApply(done -> {
                remember(tenantId, new KeyState(Optional.empty(), Optional.of(now)));
                return now;
              });
        });
  }

  private CompletionStage<SecretKey> keyForSealing(String tenantId) {
    return state(tenantId).thenCompose(s -> {
      if (s.key().isPresent()) {
        return CompletableFuture.completedFuture(s.key().get());
      }
      if (s.erasedAt().isPresent()) {
        return CompletableFuture.failedFuture(new TenantErased(tenantId, s.erasedAt().get()));
      }
      byte[] fresh = new byte[32];
      RANDOM.nextBytes(fresh);
      // one key per tenant whichever node makes it first: the loser reads the winner's
      return session.selectOne("INSERT INTO " + table + " (tenant_id, data_key, created_at) VALUES (?, ?, ?) "
              + "IF NOT EXISTS", tenantId, ByteBuffer.wrap(fresh), clock.instant())
          .thenCompose(row -> {
            boolean applied = row.map(r -> r.getBoolean("[applied]")).orElse(false);
            KeyState made = applied
                ? new KeyState(Optional.of(new SecretKeySpec(fresh, "AES")), Optional.empty())
                : row.map(TenantDataKeys::stateOf).orElse(KeyState.NONE);
            remember(tenantId, made);
            return made.key().isPresent()
                ? CompletableFuture.completedFuture(made.key().get())
                : CompletableFuture.failedFuture(new TenantErased(tenantId,
                    made.erasedAt().orElse(Instant.EPOCH)));
          });
    });
  }

  private KeyState remember(String tenantId, KeyState state) {
    if (cache.size() >= MAX_CACHED) {
      cache.clear();
    }
    cache.put(tenantId, new Cached(state, nanos.getAsLong()));
    return state;
  }

  private static KeyState stateOf(Row r) {
    Instant erased = r.getInstant("erased_at");
    if (erased != null) {
      return new KeyState(Optional.empty(), Optional.of(erased));
    }
    ByteBuffer b = r.getByteBuffer("data_key");
    if (b == null || b.remaining() != 32) {
      return KeyState.NONE;
    }
    byte[] key = new byte[32];
    b.duplicate().get(key);
    return new KeyState(Optional.of(new SecretKeySpec(key, "AES")), Optional.empty());
  }
}
