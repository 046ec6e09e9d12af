package aimos.billing.ledger;

import java.util.List;

/** A tenant's usage and charges for one month, summed from the ledger. */
public record UsageReport(String tenantId, String month, long requests, long promptTokens, long completionTokens,
                          long images, long audioMillis, long chargeMicros, List<ModelLine> byModel) {

  public record ModelLine(String model, String version, long requests, long tokens, long images, long audioMillis,
                          long chargeMicros) {}

  public static UsageReport of(String tenantId, String month, List<LedgerRow> rows) {
    long requests = 0, prompt = 0, completion = 0, images = 0, audio = 0, charge = 0;
    var lines = new java.util.TreeMap<String, long[]>();
    for (LedgerRow r : rows) {
      requests++;
      prompt += r.units().promptTokens();
      completion += r.units().completionTokens();
      images += r.units().images();
      audio += r.units().audioMillis();
      charge += r.chargeMicros();
      long[] l = lines.computeIfAbsent(r.model() + "\u0000" + r.version(), k -> new long[5]);
      l[0]++;
      l[1] += r.units().tokens();
      l[2] += r.units().images();
      l[3] += r.units().audioMillis();
      l[4] += r.chargeMicros();
    }
    List<ModelLine> byModel = lines.entrySet().stream().map(e -> {
      String[] mv = e.getKey().split("\u0000", 2);
      long[] l = e.getValue();
      return new ModelLine(mv[0], mv[1], l[0], l[1], l[2], l[3], l[4]);
    }).toList();
    return new UsageReport(tenantId, month, requests, prompt, completion, images, audio, charge, byModel);
  }
}
