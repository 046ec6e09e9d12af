package aimos.tenant;

import aimos.internal.events.ApiKeyIssued;
import aimos.internal.events.ApiKeyRevoked;
import aimos.internal.events.BudgetAlertsSet;
import aimos.internal.events.BudgetThresholdCrossed;
import aimos.internal.events.PlanChanged;
import aimos.internal.events.TenantCreated;
import aimos.internal.events.TenantDirectoryEntryAdded;
import aimos.internal.events.TenantDirectorySeeded;
import aimos.internal.events.TenantResumed;
import aimos.internal.events.TenantSuspended;
import aimos.internal.events.UsageRecorded;
import aimos.internal.snapshots.TenantSnapshot;
import aimos.tenant.directory.TenantDirectory;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.NotSerializableException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Writes {@link TenantEntity.Event}s and tenant snapshots as the protobuf messages of {@code aimos/internal/events.proto}. The manifest
 * names the event and its schema version, so events written by earlier versions stay readable.
 */
public final class TenantEventSerializer extends SerializerWithStringManifest {
  static final String CREATED = "TenantCreated.v1";
  static final String PLAN_CHANGED = "PlanChanged.v1";
  static final String KEY_ISSUED = "ApiKeyIssued.v1";
  static final String KEY_REVOKED = "ApiKeyRevoked.v1";
  static final String USAGE = "UsageRecorded.v1";
  static final String DIRECTORY_ADD = "TenantDirectoryEntryAdded.v1";
  static final String DIRECTORY_SEEDED = "TenantDirectorySeeded.v1";
  static final String SNAPSHOT = "TenantSnapshot.v1";
  static final String BUDGET_CROSSED = "BudgetThresholdCrossed.v1";
  static final String BUDGET_ALERTS_SET = "BudgetAlertsSet.v1";
  static final String SUSPENDED = "TenantSuspended.v1";
  static final String RESUMED = "TenantResumed.v1";

  public TenantEventSerializer(ExtendedActorSystem system) {}

  public TenantEventSerializer() {}

  @Override
  public int identifier() {
    return 7402;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof TenantEntity.TenantCreated) return CREATED;
    if (o instanceof TenantEntity.PlanChanged) return PLAN_CHANGED;
    if (o instanceof TenantEntity.ApiKeyIssued) return KEY_ISSUED;
    if (o instanceof TenantEntity.ApiKeyRevoked) return KEY_REVOKED;
    if (o instanceof TenantEntity.UsageRecorded) return USAGE;
    if (o instanceof TenantDirectory.TenantListed) return DIRECTORY_ADD;
    if (o instanceof TenantDirectory.DirectorySeeded) return DIRECTORY_SEEDED;
    if (o instanceof TenantSnapshot) return SNAPSHOT;
    if (o instanceof TenantEntity.BudgetThresholdCrossed) return BUDGET_CROSSED;
    if (o instanceof TenantEntity.BudgetAlertsSet) return BUDGET_ALERTS_SET;
    if (o instanceof TenantEntity.TenantSuspended) return SUSPENDED;
    if (o instanceof TenantEntity.TenantResumed) return RESUMED;
    throw new IllegalArgumentException("Not a tenant event: " + o.getClass());
  }

  @Override
  public byte[] toBinary(Object o) {
    if (o instanceof TenantEntity.TenantCreated e) {
      return TenantCreated.newBuilder().setTenantId(e.tenantId()).setDisplayName(e.displayName())
          .setPlan(toProto(e.plan())).setCreatedAtMillis(e.createdAtMillis()).build().toByteArray();
    }
    if (o instanceof TenantEntity.PlanChanged e) {
      return PlanChanged.newBuilder().setPlan(toProto(e.plan())).build().toByteArray();
    }
    if (o instanceof TenantEntity.ApiKeyIssued e) {
      return ApiKeyIssued.newBuilder().setKeyId(e.keyId()).setSalt(ByteString.copyFrom(e.salt()))
          .setHash(ByteString.copyFrom(e.hash())).setIssuedAtMillis(e.issuedAtMillis()).setScope(e.scope()).build()
          .toByteArray();
    }
    if (o instanceof TenantEntity.ApiKeyRevoked e) {
      return ApiKeyRevoked.newBuilder().setKeyId(e.keyId()).setRevokedAtMillis(e.revokedAtMillis()).build()
          .toByteArray();
    }
    if (o instanceof TenantEntity.UsageRecorded e) {
      return UsageRecorded.newBuilder().setTenantId(e.tenantId()).setRequestId(e.requestId()).setModel(e.model())
          .setVersion(e.version()).setBillingUnit(e.unit().name()).setUnitPriceMicros(e.unitPriceMicros())
          .setPromptTokens(e.units().promptTokens()).setCompletionTokens(e.units().completionTokens())
          .setImages(e.units().images()).setAudioMillis(e.units().audioMillis())
          .setMonthTokensBefore(e.monthTokensBefore()).setChargeMicros(e.chargeMicros())
          .setLatencyMicros(e.latencyMicros()).setRecordedAtMillis(e.recordedAtMillis()).setMonth(e.month())
          .setInputFingerprint(e.inputFingerprint()).setPriceListId(e.priceListId()).build().toByteArray();
    }
    if (o instanceof TenantDirectory.TenantListed e) {
      return TenantDirectoryEntryAdded.newBuilder().setTenantId(e.tenantId()).build().toByteArray();
    }
    if (o instanceof TenantDirectory.DirectorySeeded) {
      return TenantDirectorySeeded.getDefaultInstance().toByteArray();
    }
    if (o instanceof TenantSnapshot snapshot) {
      return snapshot.toByteArray();
    }
    if (o instanceof TenantEntity.BudgetThresholdCrossed e) {
      return BudgetThresholdCrossed.newBuilder().setTenantId(e.tenantId()).setMonth(e.month()).setPercent(e.percent())
          .setBudgetMicros(e.budgetMicros()).setSpendMicros(e.spendMicros()).setCrossedAtMillis(e.crossedAtMillis())
          .setRequestId(e.requestId()).build().toByteArray();
    }
    if (o instanceof TenantEntity.BudgetAlertsSet e) {
      return BudgetAlertsSet.newBuilder().addAllPercents(e.percents()).build().toByteArray();
    }
    if (o instanceof TenantEntity.TenantSuspended e) {
      return TenantSuspended.newBuilder().setReason(e.reason()).setSuspendedAtMillis(e.suspendedAtMillis()).build()
          .toByteArray();
    }
    if (o instanceof TenantEntity.TenantResumed e) {
      return TenantResumed.newBuilder().setResumedAtMillis(e.resumedAtMillis()).build().toByteArray();
    }
    throw new IllegalArgumentException("Not a tenant event: " + o.getClass());
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try {
      switch (manifest) {
        case CREATED -> {
          TenantCreated p = TenantCreated.parseFrom(bytes);
          return new TenantEntity.TenantCreated(p.getTenantId(), p.getDisplayName(), fromProto(p.getPlan()),
              p.getCreatedAtMillis());
        }
        case PLAN_CHANGED -> {
          return new TenantEntity.PlanChanged(fromProto(PlanChanged.parseFrom(bytes).getPlan()));
        }
        case KEY_ISSUED -> {
          ApiKeyIssued p = ApiKeyIssued.parseFrom(bytes);
          return new TenantEntity.ApiKeyIssued(p.getKeyId(), p.getSalt().toByteArray(), p.getHash().toByteArray(),
              p.getIssuedAtMillis(), p.getScope());
        }
        case KEY_REVOKED -> {
          ApiKeyRevoked p = ApiKeyRevoked.parseFrom(bytes);
          return new TenantEntity.ApiKeyRevoked(p.getKeyId(), p.getRevokedAtMillis());
        }
        case USAGE -> {
          return usageFromProto(UsageRecorded.parseFrom(bytes));
        }
        case DIRECTORY_ADD -> {
          return new TenantDirectory.TenantListed(TenantDirectoryEntryAdded.parseFrom(bytes).getTenantId());
        }
        case DIRECTORY_SEEDED -> {
          TenantDirectorySeeded.parseFrom(bytes);
          return new TenantDirectory.DirectorySeeded();
        }
        case SNAPSHOT -> {
          return TenantSnapshot.parseFrom(bytes);
        }
        case BUDGET_CROSSED -> {
          BudgetThresholdCrossed p = BudgetThresholdCrossed.parseFrom(bytes);
          return new TenantEntity.BudgetThresholdCrossed(p.getTenantId(), p.getMonth(), p.getPercent(),
              p.getBudgetMicros(), p.getSpendMicros(), p.getCrossedAtMillis(), p.getRequestId());
        }
        case BUDGET_ALERTS_SET -> {
          return new TenantEntity.BudgetAlertsSet(java.util.List.copyOf(BudgetAlertsSet.parseFrom(bytes)
              .getPercentsList()));
        }
        case SUSPENDED -> {
          TenantSuspended p = TenantSuspended.parseFrom(bytes);
          return new TenantEntity.TenantSuspended(p.getReason(), p.getSuspendedAtMillis());
        }
        case RESUMED -> {
          return new TenantEntity.TenantResumed(TenantResumed.parseFrom(bytes).getResumedAtMillis());
        }
        default -> throw new NotSerializableException("Unknown tenant event manifest " + manifest);
      }
    } catch (InvalidProtocolBufferException e) {
      throw new NotSerializableException("Corrupt " + manifest + ": " + e.getMessage());
    }
  }

  static TenantEntity.UsageRecorded usageFromProto(UsageRecorded p) {
    return new TenantEntity.UsageRecorded(p.getTenantId(), p.getRequestId(), p.getModel(), p.getVersion(),
        aimos.api.v1.BillingUnit.valueOf(p.getBillingUnit()), p.getUnitPriceMicros(),
        new Units(p.getPromptTokens(), p.getCompletionTokens(), p.getImages(), p.getAudioMillis()),
        p.getMonthTokensBefore(), p.getChargeMicros(), p.getLatencyMicros(), p.getRecordedAtMillis(), p.getMonth(),
        p.getInputFingerprint(), p.getPriceListId());
  }

  static aimos.internal.events.Plan toProto(Plan p) {
    return aimos.internal.events.Plan.newBuilder().setRequestsPerMinute(p.requestsPerMinute())
        .setTokensPerMinute(p.tokensPerMinute()).setMonthlyBudgetMicros(p.monthlyBudgetMicros())
        .setMaxConcurrentRequests(p.maxConcurrentRequests()).setMaxWorkerLeases(p.maxWorkerLeases()).build();
  }

  static Plan fromProto(aimos.internal.events.Plan p) {
    int leases = p.getMaxWorkerLeases() == 0 ? p.getMaxConcurrentRequests() : p.getMaxWorkerLeases();
    return new Plan(p.getRequestsPerMinute(), p.getTokensPerMinute(), p.getMonthlyBudgetMicros(),
        p.getMaxConcurrentRequests(), leases);
  }
}
