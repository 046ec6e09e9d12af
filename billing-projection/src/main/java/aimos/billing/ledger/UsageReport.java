package aimos.billing.ledger;

import java.util.List;

/**
 * A tenant's usage and charges for one month, summed from the month's daily rollups (never from the ledger).
 * {@code requestsOver100ms} counts requests whose recorded latency exceeded 100 ms.
 */
public record UsageReport(String tenantId, String month, long requests, long promptTokens, long completionTokens,
                          long images, long audioMillis, long chargeMicros, List<ModelLine> byModel,
                          long requestsOver100ms) {

  public record ModelLine(String model, String version, long requests, long tokens, long images, long audioMillis,
                          long chargeMicros, long requestsOver100ms) {}
}
