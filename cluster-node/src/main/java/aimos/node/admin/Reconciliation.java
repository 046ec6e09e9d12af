package aimos.node.admin;

import aimos.billing.reconciliation.Reconciler;
import aimos.node.metrics.AimosMetrics;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the reconciliation of the journal with the ledger and the usage rollups: on demand (admin API, {@code bin/aimos reconcile}) and periodically
 * on the cluster's oldest node. A repairing run checks again afterwards, so its report says what is left.
 */
public final class Reconciliation {
  private static final Logger log = LoggerFactory.getLogger(Reconciliation.class);

  private final ActorSystem<?> system;
  private final Reconciler reconciler;
  private final AimosMetrics metrics;

  public Reconciliation(ActorSystem<?> system, Reconciler reconciler, AimosMetrics metrics) {
    this.system = system;
    this.reconciler = reconciler;
    this.metrics = metrics;
  }

  /** One tenant, or all of them when {@code tenantId} is null. */
  public CompletionStage<Map<String, Object>> run(String tenantId, boolean repair) {
    CompletionStage<List<Reconciler.Report>> found = check(tenantId, repair);
    if (!repair) {
      return found.thenApply(f -> summary(f, null));
    }
    return found.thenCompose(f -> check(tenantId, false).thenApply(after -> summary(f, after)));
  }

  private CompletionStage<List<Reconciler.Report>> check(String tenantId, boolean repair) {
    CompletionStage<List<Reconciler.Report>> reports = tenantId == null
        ? reconciler.reconcileAll(repair)
        : reconciler.reconcile(tenantId, repair).thenApply(List::of);
    return reports.thenApply(list -> {
      long missing = 0;
      long repaired = 0;
      long flagged = 0;
      for (Reconciler.Report r : list) {
        missing += r.missingCount() + r.mispricedCount();
        repaired += r.repaired();
        flagged += r.withoutEventCount() + r.billedTwiceCount();
      }
      metrics.reconciled(repair, missing, repaired, flagged);
      return list;
    });
  }

  private static Map<String, Object> summary(List<Reconciler.Report> found, List<Reconciler.Report> after) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tenants", found.size());
    m.put("missing", found.stream().mapToLong(Reconciler.Report::missingCount).sum());
    m.put("mispriced", found.stream().mapToLong(Reconciler.Report::mispricedCount).sum());
    m.put("repaired", found.stream().mapToLong(Reconciler.Report::repaired).sum());
    List<Reconciler.Report> last = after == null ? found : after;
    m.put("remainingMissing", last.stream().mapToLong(r -> r.missingCount() + r.mispricedCount()).sum());
    m.put("withoutEvent", last.stream().mapToLong(Reconciler.Report::withoutEventCount).sum());
    m.put("billedTwice", last.stream().mapToLong(Reconciler.Report::billedTwiceCount).sum());
    m.put("rollupsChecked", found.stream().mapToLong(Reconciler.Report::rollupsChecked).sum());
    m.put("rollupsWrong", found.stream().mapToLong(Reconciler.Report::rollupsWrong).sum());
    m.put("rollupsRepaired", found.stream().mapToLong(Reconciler.Report::rollupsRepaired).sum());
    m.put("remainingRollupsWrong", last.stream().mapToLong(Reconciler.Report::rollupsWrong).sum());
    m.put("found", found.stream().filter(r -> !r.clean()).toList());
    if (after != null) {
      m.put("after", after.stream().filter(r -> !r.clean()).toList());
    }
    return m;
  }

  /** Every {@code interval}, the oldest node repairs the whole ledger. */
  public void schedule(Duration interval) {
    if (interval.isZero()) {
      return;
    }
    system.scheduler().scheduleWithFixedDelay(interval, interval, () -> {
      if (!isOldest(system)) {
        return;
      }
      run(null, true).whenComplete((summary, err) -> {
        if (err != null) {
          log.warn("Reconciliation failed: {}", err.toString());
        } else {
          log.info("Reconciliation: {} tenants, {} missing and {} mispriced rows repaired; {} rows without event, {} "
              + "request ids billed twice; {} wrong rollup rows, {} repaired", summary.get("tenants"),
              summary.get("missing"), summary.get("mispriced"), summary.get("withoutEvent"),
              summary.get("billedTwice"), summary.get("rollupsWrong"), summary.get("rollupsRepaired"));
        }
      });
    }, system.executionContext());
  }

  /** Whether this node is the oldest up member of its cluster (where cluster-wide periodic jobs run). */
  static boolean isOldest(ActorSystem<?> system) {
    Cluster cluster = Cluster.get(system);
    var self = cluster.selfMember();
    for (var m : cluster.state().getMembers()) {
      if (m.status() == MemberStatus.up() && m.isOlderThan(self)) {
        return false;
      }
    }
    return self.status() == MemberStatus.up();
  }
}
