package aimos.tenant;

import aimos.internal.snapshots.ApiKeySnapshot;
import aimos.internal.snapshots.RecordedRequest;
import aimos.internal.snapshots.TenantSnapshot;
import com.google.protobuf.ByteString;
import org.apache.pekko.persistence.typed.SnapshotAdapter;

/**
 * The tenant's snapshot: its state as the protobuf message {@code aimos.internal.TenantSnapshot}. The copy is taken on
 * the entity's thread when the snapshot is due (the state itself is changed in place afterwards, so the snapshot
 * store must never see it), and the serializer only writes the message's bytes.
 */
public final class TenantSnapshots implements SnapshotAdapter<TenantState> {
  static final TenantSnapshots INSTANCE = new TenantSnapshots();

  private TenantSnapshots() {}

  @Override
  public Object toJournal(TenantState s) {
    return toProto(s);
  }

  @Override
  public TenantState fromJournal(Object from) {
    return fromProto((TenantSnapshot) from);
  }

  static TenantSnapshot toProto(TenantState s) {
    TenantSnapshot.Builder b = TenantSnapshot.newBuilder().setCreated(s.created).setDisplayName(s.displayName)
        .setMonth(s.month.month).setMonthRequests(s.month.requests).setMonthTokens(s.month.tokens)
        .setMonthSpendMicros(s.month.spendMicros);
    if (s.suspended) {
      b.setSuspended(true).setSuspendReason(s.suspendReason).setSuspendedAtMillis(s.suspendedAtMillis);
    }
    b.addAllBudgetAlertPercents(s.alerts.percents);
    // crossings are kept for the snapshot's month only: a later month starts with none
    b.addAllBudgetThresholdsCrossed(s.alerts.crossedIn(s.month.month));
    if (s.plan != null) {
      b.setPlan(TenantEventSerializer.toProto(s.plan));
    }
    for (KeyRing.Key k : s.keys.all()) {
      b.addKeys(ApiKeySnapshot.newBuilder().setKeyId(k.keyId()).setSalt(ByteString.copyFrom(k.salt()))
          .setHash(ByteString.copyFrom(k.hash())).setIssuedAtMillis(k.issuedAtMillis()).setRevoked(k.revoked())
          .setScope(k.scope().stored()));
    }
    for (RecentRequests.Entry e : s.recent.entries()) {
      TenantEntity.Recorded r = e.recorded();
      b.addRecent(RecordedRequest.newBuilder().setRequestId(r.requestId()).setModel(r.model())
          .setVersion(r.version()).setPromptTokens(r.units().promptTokens())
          .setCompletionTokens(r.units().completionTokens()).setImages(r.units().images())
          .setAudioMillis(r.units().audioMillis()).setChargeMicros(r.chargeMicros())
          .setInputFingerprint(r.fingerprint()).setRecordedAtMillis(e.recordedAtMillis()));
    }
    return b.build();
  }

  static TenantState fromProto(TenantSnapshot p) {
    TenantState s = new TenantState();
    s.created = p.getCreated();
    s.displayName = p.getDisplayName();
    s.plan = p.hasPlan() ? TenantEventSerializer.fromProto(p.getPlan()) : null;
    for (ApiKeySnapshot k : p.getKeysList()) {
      s.keys.restore(new KeyRing.Key(k.getKeyId(), k.getSalt().toByteArray(), k.getHash().toByteArray(),
          k.getIssuedAtMillis(), k.getRevoked(), KeyScope.ofLabel(k.getScope())));
    }
    s.suspended = p.getSuspended();
    s.suspendReason = p.getSuspendReason();
    s.suspendedAtMillis = p.getSuspendedAtMillis();
    s.month.month = p.getMonth();
    s.month.requests = p.getMonthRequests();
    s.month.tokens = p.getMonthTokens();
    s.month.spendMicros = p.getMonthSpendMicros();
    s.alerts.percents = java.util.List.copyOf(p.getBudgetAlertPercentsList());
    p.getBudgetThresholdsCrossedList().forEach(t -> s.alerts.crossed(p.getMonth(), t));
    for (RecordedRequest r : p.getRecentList()) {
      s.recent.add(new TenantEntity.Recorded(r.getRequestId(), r.getModel(), r.getVersion(),
          new Units(r.getPromptTokens(), r.getCompletionTokens(), r.getImages(), r.getAudioMillis()),
          r.getChargeMicros(), false, r.getInputFingerprint()), r.getRecordedAtMillis());
    }
    return s;
  }
}
