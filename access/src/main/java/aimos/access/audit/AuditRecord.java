package aimos.access.audit;

import aimos.serialization.KryoSerializable;

/**
 * One audited mutation. {@code hash} is SHA-256 over the previous record's hash and this record's fields (see
 * {@link AuditChain#hash}), so changing, removing or reordering a record breaks the chain from there on;
 * {@code signature} is the cluster's Ed25519 signature of {@code hash}, so the chain cannot be rebuilt without the
 * signing key.
 *
 * @param seq       1, 2, 3, ... without gaps
 * @param actor     who: the principal's name (a token's name, {@code config:admin-token}, {@code tenant:<id>/<key>})
 * @param action    the route, as {@code METHOD /template}
 * @param target    the path that was called
 * @param summary   JSON: the request (secrets removed), the outcome's status and result, and the state before
 */
public record AuditRecord(long seq, long atMillis, String actor, String role, String action, String target,
                          String requestId, String summary, String prevHash, String hash, String signature)
    implements KryoSerializable {}
