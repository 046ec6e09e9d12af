package aimos.billing.sla;

import aimos.tenant.TenantEntity;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * The SLA of a tenant-month, decided from durable metering alone: every answered, metered request (a usage event;
 * caller errors, quota refusals and failed runs record none, and a replayed answer is not a new request) is eligible,
 * and one whose gateway-measured latency, from admission to answer, exceeds {@link #THRESHOLD_MICROS} counts against
 * it. When strictly more than {@link #MAX_SHARE_PERCENT}% of the month's eligible requests are over, the tenant is
 * credited {@link #CREDIT_PERCENT}% of the month's charges (half a micro-dollar rounds up).
 */
public final class SlaCredit {
  public static final long THRESHOLD_MICROS = 100_000;
  public static final int MAX_SHARE_PERCENT = 1;
  public static final int CREDIT_PERCENT = 5;

  /** What the decision rests on, with the ids of the requests over the threshold (the export). */
  public record Evidence(String tenantId, String month, long eligible, long over, long chargesMicros,
                         long creditMicros, List<String> overRequestIds, List<Long> overLatencyMicros) {
    public boolean breached() {
      return eligible > 0 && over * 100 > eligible * MAX_SHARE_PERCENT;
    }

    /** The share of eligible requests over the threshold, in percent. */
    public BigDecimal sharePercent() {
      return eligible == 0 ? BigDecimal.ZERO
          : BigDecimal.valueOf(over * 100).divide(BigDecimal.valueOf(eligible), 4, RoundingMode.HALF_UP);
    }
  }

  private final String tenantId;
  private final String month;
  private long eligible;
  private long over;
  private long charges;
  private final List<String> overIds = new ArrayList<>();
  /** The latency of each request in {@code overIds}, in the same order. */
  private final List<Long> overLatencies = new ArrayList<>();

  public SlaCredit(String tenantId, String month) {
    this.tenantId = tenantId;
    this.month = month;
  }

  /** Counts one usage event of the month (events of other months or tenants are ignored). */
  public SlaCredit add(TenantEntity.UsageRecorded e) {
    if (!e.month().equals(month) || !e.tenantId().equals(tenantId)) {
      return this;
    }
    eligible++;
    charges += e.chargeMicros();
    if (e.latencyMicros() > THRESHOLD_MICROS) {
      over++;
      overIds.add(e.requestId());
      overLatencies.add(e.latencyMicros());
    }
    return this;
  }

  public Evidence evidence() {
    boolean breached = eligible > 0 && over * 100 > eligible * MAX_SHARE_PERCENT;
    long credit = breached
        ? BigDecimal.valueOf(charges).multiply(BigDecimal.valueOf(CREDIT_PERCENT))
            .divide(BigDecimal.valueOf(100), 0, RoundingMode.HALF_UP).longValueExact()
        : 0;
    return new Evidence(tenantId, month, eligible, over, charges, credit, List.copyOf(overIds),
        List.copyOf(overLatencies));
  }
}
