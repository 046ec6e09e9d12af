package aimos.billing.rollup;

/**
 * One rollup row: absolute sums of the events folded in, the first and last sequence numbers folded in, and a
 * revision that every write increments. Writes are conditional on the revision read, so neither the projection nor
 * a repair ever overwrites a write it has not seen. Revision 0 means the row is not stored.
 */
public record RollupRow(RollupKey key, UsageTotals totals, long firstSequenceNr, long lastSequenceNr, long revision) {

  public static RollupRow empty(RollupKey key) {
    return new RollupRow(key, UsageTotals.ZERO, 0, 0, 0);
  }

  public boolean stored() {
    return revision > 0;
  }

  /**
   * The row with the event folded in, or this row when the event is already in it: a tenant's events arrive in
   * sequence order, so any sequence number up to {@code lastSequenceNr} has been counted.
   */
  public RollupRow fold(SequencedUsage u) {
    if (u.sequenceNr() <= lastSequenceNr) {
      return this;
    }
    return new RollupRow(key, totals.plus(u.event()), firstSequenceNr == 0 ? u.sequenceNr() : firstSequenceNr,
        u.sequenceNr(), revision);
  }

  public RollupRow withRevision(long revision) {
    return new RollupRow(key, totals, firstSequenceNr, lastSequenceNr, revision);
  }

  /** Same sums and sequence numbers (the revision aside). */
  public boolean sameContent(RollupRow other) {
    return totals.equals(other.totals) && firstSequenceNr == other.firstSequenceNr
        && lastSequenceNr == other.lastSequenceNr;
  }
}
