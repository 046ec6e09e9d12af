package aimos.tenant;

import java.math.BigDecimal;

/** Money is held as exact integer micro-dollars and shown as a decimal string. */
public final class Money {
  private Money() {}

  public static String format(long micros) {
    return BigDecimal.valueOf(micros, 6).toPlainString();
  }

  /** Parses "12.5" or "0.000020" dollars; refuses more than six decimals or a negative amount. */
  public static long parseUsd(String usd) {
    BigDecimal d;
    try {
      d = new BigDecimal(usd.strip());
    } catch (NumberFormatException | NullPointerException e) {
      throw new IllegalArgumentException("not a dollar amount: '" + usd + "' (write it like 12.50)");
    }
    if (d.signum() < 0) {
      throw new IllegalArgumentException("amount cannot be negative: " + usd);
    }
    try {
      return d.movePointRight(6).longValueExact();
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("amount has more than six decimals or is too large: " + usd);
    }
  }
}
