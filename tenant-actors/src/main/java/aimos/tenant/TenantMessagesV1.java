package aimos.tenant;

import aimos.api.v1.BillingUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * The shapes that tenant messages had before they gained components, as nodes of that version write and read them.
 * {@code aimos.serialization.kryo.evolved} maps each current message to its shape here, so that both versions
 * exchange them during a rolling upgrade. Never change these records.
 */
public final class TenantMessagesV1 {
  private TenantMessagesV1() {}

  public record Admit(String secret, String requestId, long estimatedTokens, long deadlineEpochMillis,
                      ActorRef<TenantEntity.Admission> replyTo) {
    @Override
    public String toString() {
      return "Admit[requestId=" + requestId + ", secret=***]";
    }
  }

  public record RecordUsage(String admissionId, String requestId, String model, String version, BillingUnit unit,
                            long unitPriceMicros, Units units, long latencyMicros,
                            ActorRef<StatusReply<TenantEntity.Recorded>> replyTo) {}

  public record Release(String admissionId) {}

  public record Recorded(String requestId, String model, String version, Units units, long chargeMicros,
                         boolean replayed) {}

  public record IssueKey(ActorRef<StatusReply<TenantEntity.IssuedKey>> replyTo) {}

  public record KeyInfo(String keyId, long issuedAtMillis, boolean revoked) {}

  /** {@link TenantEntity.Summary} before suspension. */
  public record Summary(String tenantId, String displayName, Plan plan, java.util.List<TenantEntity.KeyInfo> keys,
                        String month, long monthRequests, long monthTokens, long monthSpendMicros) {}
}
