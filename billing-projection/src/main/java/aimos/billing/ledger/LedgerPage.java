package aimos.billing.ledger;

import java.util.List;
import java.util.OptionalLong;

/** Rows of one page, in sequence order, and the sequence number the next page starts at (empty: no more rows). */
public record LedgerPage(List<LedgerRow> rows, OptionalLong nextSequenceNr) {}
