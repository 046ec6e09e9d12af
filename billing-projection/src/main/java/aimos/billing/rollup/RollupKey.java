package aimos.billing.rollup;

import aimos.tenant.TenantEntity;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;

/**
 * Identifies one rollup row. {@code partition} is the month ("2026-11") of a day row or the day ("2026-11-05") of an
 * hour row; {@code slot} is the day of a day row or the hour (0-23, UTC) of an hour row.
 */
public record RollupKey(Grain grain, String tenantId, String partition, String slot, String model, String version) {

  /** The rows an event is folded into: its day row (in the event's billing month) and its hour row. */
  public static List<RollupKey> of(TenantEntity.UsageRecorded e) {
    ZonedDateTime at = Instant.ofEpochMilli(e.recordedAtMillis()).atZone(ZoneOffset.UTC);
    String day = at.toLocalDate().toString();
    // the month is the one the tenant entity billed the event in, as in the ledger, so a month's rows and its
    // ledger rows always agree
    return List.of(new RollupKey(Grain.DAY, e.tenantId(), e.month(), day, e.model(), e.version()),
        new RollupKey(Grain.HOUR, e.tenantId(), day, Integer.toString(at.getHour()), e.model(), e.version()));
  }

  public int hour() {
    if (grain != Grain.HOUR) {
      throw new IllegalStateException("a " + grain + " row has no hour");
    }
    return Integer.parseInt(slot);
  }

  @Override
  public String toString() {
    return grain + " " + tenantId + " " + partition + " " + slot + " " + model + "@" + version;
  }
}
