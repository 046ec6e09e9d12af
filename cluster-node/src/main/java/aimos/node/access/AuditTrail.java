package aimos.node.access;

import aimos.access.audit.AuditLog;
import aimos.access.audit.AuditRecord;
import aimos.access.audit.AuditStore;
import aimos.access.audit.AuditVerifier;
import aimos.access.token.Principal;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Writes one audit record per admin, secops or tenant-admin mutation, and reads the log back in pages. A record's
 * summary holds the request (secrets replaced by "***"), the state before where there is one, and the outcome's
 * status and result, each cut to a few KB.
 */
public final class AuditTrail {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** JSON fields whose values are never written to the log: names ending in token, secret, apiKey or password. */
  static final Pattern SECRET_FIELD = Pattern.compile("(?i).*(token|secret|apikey|api_key|password)$");
  /**
   * On a tenant's routes, fields that hold its personal data (the log is chained and signed, so it can never be
   * erased): their values are written as {@value #PERSONAL}.
   */
  static final Pattern PERSONAL_FIELD = Pattern.compile("(?i)(name|displayName|url|description|email|contactEmail"
      + "|label)");
  static final Pattern PERSONAL_ACTION = Pattern.compile(" /(admin/tenants|v1/)");
  static final String PERSONAL = "[personal data]";
  static final int MAX_PART_CHARS = 4_000;

  private final ActorSystem<?> system;
  private final Duration timeout;
  private final AuditStore store;
  private final Optional<String> publicKeyPem;

  public AuditTrail(ActorSystem<?> system, Duration timeout, AuditStore store, Optional<String> publicKeyPem) {
    this.system = system;
    this.timeout = timeout;
    this.store = store;
    this.publicKeyPem = publicKeyPem;
  }

  /** Appends the record of one mutation; a retry with the same request id is recorded once. */
  public CompletionStage<AuditRecord> record(Principal who, String action, String target, String requestId,
                                             String requestBody, Object before, int status, String result) {
    boolean personal = PERSONAL_ACTION.matcher(action).find();
    ObjectNode summary = JSON.createObjectNode();
    summary.set("request", redactedJson(requestBody, personal));
    summary.set("before", before == null ? null : redacted(JSON.valueToTree(before), personal));
    summary.put("status", status);
    summary.set("result", redactedJson(result, personal));
    String text = summary.toString();
    return append(new AuditLog.Append(who.name(), who.role().label(), action, target, requestId, text, null), 3);
  }

  private CompletionStage<AuditRecord> append(AuditLog.Append a, int attempts) {
    return AuditLog.ref(system).<AuditRecord>askWithStatus(rt -> new AuditLog.Append(a.actor(), a.role(), a.action(),
            a.target(), a.requestId(), a.summary(), rt), timeout)
        .exceptionallyCompose(err -> attempts > 1 ? append(a, attempts - 1) : CompletableFuture.failedFuture(err));
  }

  /** A page of records from {@code from} on, and the writer's head (to see a log cut short at its end). */
  public CompletionStage<Map<String, Object>> page(long from, int limit) {
    return store.page(from, limit).thenCombine(head(), (records, head) -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("records", records.stream().map(AuditTrail::json).toList());
      m.put("next", records.size() == limit ? records.get(records.size() - 1).seq() + 1 : null);
      m.put("head", head);
      return m;
    });
  }

  private CompletionStage<Map<String, Object>> head() {
    return AuditLog.ref(system).<AuditLog.Head>ask(AuditLog.GetHead::new, timeout).thenApply(h -> {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("seq", h.seq());
      m.put("hash", h.hash());
      return m;
    });
  }

  public Optional<String> publicKeyPem() {
    return publicKeyPem;
  }

  /** Walks the whole log on this node with the cluster's public key: the check {@code aimos audit verify} makes. */
  public CompletionStage<Map<String, Object>> verify() {
    AuditVerifier v = new AuditVerifier(publicKeyPem.map(aimos.access.audit.AuditChain::publicKey));
    return head().thenCompose(head -> walk(v, 1).thenApply(done -> {
      Map<String, Object> m = new LinkedHashMap<>();
      long headSeq = ((Number) head.get("seq")).longValue();
      String problem = v.problem().orElse(v.lastSeq() < headSeq
          ? "the log ends at record " + v.lastSeq() + " but its writer has written " + headSeq
              + ": records were removed from its end" : null);
      m.put("ok", problem == null);
      m.put("checked", v.checked());
      m.put("problem", problem);
      m.put("signed", publicKeyPem.isPresent());
      m.put("head", head);
      return m;
    }));
  }

  private CompletionStage<Boolean> walk(AuditVerifier v, long from) {
    return store.page(from, AuditStore.MAX_PAGE).thenCompose(records -> {
      for (AuditRecord r : records) {
        if (!v.accept(r)) {
          return CompletableFuture.completedFuture(false);
        }
      }
      return records.size() < AuditStore.MAX_PAGE ? CompletableFuture.completedFuture(true)
          : walk(v, v.lastSeq() + 1);
    });
  }

  static Map<String, Object> json(AuditRecord r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("seq", r.seq());
    m.put("at", Instant.ofEpochMilli(r.atMillis()).toString());
    m.put("atMillis", r.atMillis());
    m.put("actor", r.actor());
    m.put("role", r.role());
    m.put("action", r.action());
    m.put("target", r.target());
    m.put("requestId", r.requestId());
    m.put("summary", r.summary());
    m.put("prevHash", r.prevHash());
    m.put("hash", r.hash());
    m.put("signature", r.signature());
    return m;
  }

  static JsonNode redactedJson(String text, boolean personal) {
    if (text == null || text.isBlank()) {
      return null;
    }
    try {
      return redacted(JSON.readTree(text), personal);
    } catch (Exception e) {
      if (personal) {
        return JSON.getNodeFactory().textNode("[not JSON: " + text.length() + " characters]");
      }
      String cut = text.length() > MAX_PART_CHARS ? text.substring(0, MAX_PART_CHARS) + "..." : text;
      return JSON.getNodeFactory().textNode(cut);
    }
  }

  private static JsonNode redacted(JsonNode node, boolean personal) {
    if (node == null) {
      return null;
    }
    JsonNode copy = node.deepCopy();
    redactInPlace(copy, personal);
    String text = copy.toString();
    if (text.getBytes(StandardCharsets.UTF_8).length > MAX_PART_CHARS) {
      return JSON.getNodeFactory().textNode(text.substring(0, Math.min(text.length(), MAX_PART_CHARS)) + "...");
    }
    return copy;
  }

  private static void redactInPlace(JsonNode node, boolean personal) {
    if (node.isObject()) {
      ObjectNode o = (ObjectNode) node;
      List<String> names = new ArrayList<>();
      for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
        names.add(it.next());
      }
      for (String name : names) {
        if (SECRET_FIELD.matcher(name).matches() && o.get(name).isValueNode()) {
          o.put(name, "***");
        } else if (personal && PERSONAL_FIELD.matcher(name).matches() && o.get(name).isValueNode()) {
          o.put(name, PERSONAL);
        } else {
          redactInPlace(o.get(name), personal);
        }
      }
    } else if (node.isArray()) {
      node.forEach(n -> redactInPlace(n, personal));
    }
  }
}
