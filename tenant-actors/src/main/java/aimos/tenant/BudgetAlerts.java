package aimos.tenant;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * A tenant's budget-alert thresholds, in percent of its monthly budget, and which ones its spend crossed this month.
 * Each threshold is crossed at most once per calendar month: the crossing is an event written with the usage that
 * crossed it, so it survives restarts and moves of the entity.
 */
final class BudgetAlerts {
  static final List<Integer> DEFAULT_PERCENTS = List.of(50, 80, 100);
  static final int MAX_THRESHOLDS = 10;

  /** Set for the tenant; empty: {@link #DEFAULT_PERCENTS}. */
  List<Integer> percents = List.of();
  /** Crossed in {@link #month}. */
  final TreeSet<Integer> crossed = new TreeSet<>();
  String month = "";

  List<Integer> effective() {
    return percents.isEmpty() ? DEFAULT_PERCENTS : percents;
  }

  /** Checks a list of thresholds: 1 to 10 whole percentages, each 1-100, ascending and distinct. */
  static List<Integer> validate(List<Integer> candidate) {
    if (candidate == null || candidate.isEmpty() || candidate.size() > MAX_THRESHOLDS) {
      throw new IllegalArgumentException("thresholds must hold 1 to " + MAX_THRESHOLDS + " percentages, was "
          + (candidate == null ? 0 : candidate.size()));
    }
    int previous = 0;
    for (Integer p : candidate) {
      if (p == null || p < 1 || p > 100) {
        throw new IllegalArgumentException("each threshold must be a whole percentage from 1 to 100, was " + p);
      }
      if (p <= previous) {
        throw new IllegalArgumentException("thresholds must be ascending and distinct, for example [50, 80, 100]; "
            + p + " follows " + previous);
      }
      previous = p;
    }
    return List.copyOf(candidate);
  }

  void crossed(String eventMonth, int percent) {
    if (!month.equals(eventMonth)) {
      month = eventMonth;
      crossed.clear();
    }
    crossed.add(percent);
  }

  List<Integer> crossedIn(String forMonth) {
    return month.equals(forMonth) ? List.copyOf(crossed) : List.of();
  }

  /**
   * The events of a journal write with the threshold crossings they cause: each usage event followed by a
   * {@link TenantEntity.BudgetThresholdCrossed} for every threshold its charge makes the month's spend reach for the
   * first time in that month. {@code monthSpend} is the state before the write.
   */
  List<TenantEntity.Event> withCrossings(MonthToDate monthSpend, Plan plan, List<TenantEntity.UsageRecorded> usage) {
    List<TenantEntity.Event> events = new ArrayList<>(usage.size());
    String m = monthSpend.month;
    long spend = monthSpend.spendMicros;
    String crossedMonth = month;
    TreeSet<Integer> done = new TreeSet<>(crossed);
    for (TenantEntity.UsageRecorded e : usage) {
      events.add(e);
      if (!m.equals(e.month())) {
        m = e.month();
        spend = 0;
      }
      if (!crossedMonth.equals(e.month())) {
        crossedMonth = e.month();
        done.clear();
      }
      spend += e.chargeMicros();
      if (plan == null) {
        continue;
      }
      for (int p : effective()) {
        if (!done.contains(p) && reached(spend, plan.monthlyBudgetMicros(), p)) {
          done.add(p);
          events.add(new TenantEntity.BudgetThresholdCrossed(e.tenantId(), e.month(), p, plan.monthlyBudgetMicros(),
              spend, e.recordedAtMillis(), e.requestId()));
        }
      }
    }
    return events;
  }

  /** spend >= percent % of budget, exactly (no rounding down of the threshold). */
  static boolean reached(long spendMicros, long budgetMicros, int percent) {
    return java.math.BigInteger.valueOf(spendMicros).multiply(java.math.BigInteger.valueOf(100))
        .compareTo(java.math.BigInteger.valueOf(budgetMicros).multiply(java.math.BigInteger.valueOf(percent))) >= 0;
  }
}
