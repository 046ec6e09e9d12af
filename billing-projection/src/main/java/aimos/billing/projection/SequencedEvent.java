package aimos.billing.projection;

import aimos.tenant.TenantEntity;

/** One event of a tenant's journal, with the sequence number that identifies it there. */
public record SequencedEvent(String persistenceId, long sequenceNr, TenantEntity.Event event) {}
