package aimos.tenant;

/**
 * The tenant's usage in the calendar month of its newest usage: what the monthly budget and the volume discount
 * are checked against. A usage event of a later month starts the counts afresh.
 */
final class MonthToDate {
  String month = "";
  long requests;
  long tokens;
  long spendMicros;

  void add(String eventMonth, long eventTokens, long chargeMicros) {
    if (!month.equals(eventMonth)) {
      month = eventMonth;
      requests = 0;
      tokens = 0;
      spendMicros = 0;
    }
    requests++;
    tokens += eventTokens;
    spendMicros += chargeMicros;
  }

  long tokensBefore(String forMonth) {
    return month.equals(forMonth) ? tokens : 0;
  }

  long spendIn(String forMonth) {
    return month.equals(forMonth) ? spendMicros : 0;
  }
}
