package aimos.billing.invoice;

import aimos.api.v1.BillingUnit;
import aimos.billing.ledger.LedgerRow;
import aimos.billing.pricing.PriceCatalog;
import aimos.tenant.Money;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Folds a month's billed requests into invoice lines. Money is copied, never recomputed: the invoice total is the
 * sum of the charges decided when each request was recorded (less an SLA credit). Each usage line's amount is its
 * requests' amounts at the list price without the volume discount, each rounded to the micro-dollar exactly as a
 * charge is; the volume discount line is the difference between those and the charges. So the lines sum to the
 * total exactly, and the discount line is zero when no request was discounted.
 */
public final class InvoiceCalculator {
  /** The seed arithmetic without a volume discount: a request's amount at list price. */
  private static final PriceCatalog LIST_PRICE = new PriceCatalog(0, 0, 0, Long.MAX_VALUE, 0);
  private static final BigDecimal THOUSAND = BigDecimal.valueOf(1000);
  private static final BigDecimal MINUTE_MILLIS = BigDecimal.valueOf(60_000);

  private record Key(String model, String version, BillingUnit unit, long unitPriceMicros) {}

  private static final class Sum {
    long requests;
    long units;
    long listMicros;
    long chargedMicros;
  }

  private final Map<Key, Sum> sums = new TreeMap<>(Comparator.comparing(Key::model).thenComparing(Key::version)
      .thenComparing(k -> k.unit().getNumber()).thenComparingLong(Key::unitPriceMicros));
  private long charged;
  private long requests;

  public InvoiceCalculator add(LedgerRow r) {
    Sum s = sums.computeIfAbsent(new Key(r.model(), r.version(), r.unit(), r.unitPriceMicros()), k -> new Sum());
    s.requests++;
    s.units = Math.addExact(s.units, billedUnits(r));
    s.listMicros = Math.addExact(s.listMicros, listMicros(r));
    s.chargedMicros = Math.addExact(s.chargedMicros, r.chargeMicros());
    charged = Math.addExact(charged, r.chargeMicros());
    requests++;
    return this;
  }

  /** A request's amount at its list price, without the volume discount, rounded as its charge was. */
  public static long listMicros(LedgerRow r) {
    return LIST_PRICE.chargeMicros(r.unit(), r.unitPriceMicros(), r.units(), 0);
  }

  /** A request's units in its billing unit: tokens, images or audio milliseconds. */
  public static long billedUnits(LedgerRow r) {
    return switch (r.unit()) {
      case TOKENS -> r.units().tokens();
      case IMAGES -> r.units().images();
      case AUDIO_MINUTES -> r.units().audioMillis();
      default -> 0L;
    };
  }

  /** What was charged for the requests folded in so far. */
  public long chargedMicros() {
    return charged;
  }

  public long requests() {
    return requests;
  }

  /** The lines, usage first (by model, version, unit, price), then the volume discount and the SLA credit. */
  public List<InvoiceLine> lines(long slaCreditMicros) {
    if (slaCreditMicros < 0) {
      throw new IllegalArgumentException("an SLA credit cannot be negative");
    }
    List<InvoiceLine> lines = new ArrayList<>();
    long list = 0;
    for (Map.Entry<Key, Sum> e : sums.entrySet()) {
      Key k = e.getKey();
      Sum s = e.getValue();
      list = Math.addExact(list, s.listMicros);
      lines.add(new InvoiceLine(InvoiceLine.USAGE, k.model() + " " + k.version() + " (" + unitName(k.unit()) + ")",
          k.model(), k.version(), unitName(k.unit()), quantity(k.unit(), s.units), k.unitPriceMicros(), s.units,
          s.requests, s.listMicros));
    }
    long discount = Math.subtractExact(charged, list);
    if (discount != 0) {
      lines.add(new InvoiceLine(InvoiceLine.VOLUME_DISCOUNT, "Volume discount on tokens beyond the month's "
          + "threshold", null, null, null, null, 0, 0, 0, discount));
    }
    if (slaCreditMicros > 0) {
      lines.add(new InvoiceLine(InvoiceLine.SLA_CREDIT, "SLA credit", null, null, null, null, 0, 0, 0,
          -slaCreditMicros));
    }
    return lines;
  }

  public static long sum(List<InvoiceLine> lines) {
    long t = 0;
    for (InvoiceLine l : lines) {
      t = Math.addExact(t, l.amountMicros());
    }
    return t;
  }

  public static String unitName(BillingUnit unit) {
    return switch (unit) {
      case TOKENS -> "1k_tokens";
      case IMAGES -> "image";
      case AUDIO_MINUTES -> "audio_minute";
      default -> "unit";
    };
  }

  /** The quantity in the billing unit: thousands of tokens (3 decimals), images, minutes (6 decimals, rounded). */
  public static String quantity(BillingUnit unit, long units) {
    return switch (unit) {
      case TOKENS -> BigDecimal.valueOf(units).divide(THOUSAND).setScale(3, RoundingMode.UNNECESSARY).toPlainString();
      case AUDIO_MINUTES -> BigDecimal.valueOf(units).divide(MINUTE_MILLIS, 6, RoundingMode.HALF_EVEN).toPlainString();
      default -> Long.toString(units);
    };
  }

  public static String usd(long micros) {
    return micros < 0 ? "-" + Money.format(-micros) : Money.format(micros);
  }
}
