package aimos.billing.ledger;

/** The first and last sequence numbers of a tenant's usage events in one month (both inclusive). */
public record SequenceRange(long first, long last) {
  public SequenceRange {
    if (first < 1 || last < first) {
      throw new IllegalArgumentException("invalid sequence range " + first + ".." + last);
    }
  }

  public SequenceRange union(SequenceRange o) {
    return new SequenceRange(Math.min(first, o.first), Math.max(last, o.last));
  }
}
