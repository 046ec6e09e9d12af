package aimos.billing.rollup;

import aimos.tenant.TenantEntity;

/** A usage event with its sequence number in the tenant's journal: what rollups fold in, in sequence order. */
public record SequencedUsage(long sequenceNr, TenantEntity.UsageRecorded event) {
  public SequencedUsage {
    if (sequenceNr < 1) {
      throw new IllegalArgumentException("sequence numbers start at 1, was " + sequenceNr);
    }
  }
}
