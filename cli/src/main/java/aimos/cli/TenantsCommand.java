package aimos.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "tenants", description = {"Create, list, read, suspend and resume tenants and change their plans;",
    "budget alerts, SLA evidence, and the export and erasure of a tenant's personal data."},
    subcommands = {TenantsCommand.Create.class, TenantsCommand.List.class, TenantsCommand.Get.class,
        TenantsCommand.SetPlan.class, TenantsCommand.Suspend.class, TenantsCommand.Resume.class,
        TenantsCommand.Location.class, TenantsCommand.BudgetAlerts.class, TenantsCommand.SetBudgetAlerts.class,
        TenantsCommand.Sla.class, TenantsCommand.Export.class, TenantsCommand.Erase.class})
final class TenantsCommand {

  /** A plan's limits, as options; on create all but --max-worker-leases are required. */
  static final class PlanOptions {
    @Option(names = "--requests-per-minute", paramLabel = "N", description = "requests a minute")
    Long requestsPerMinute;

    @Option(names = "--tokens-per-minute", paramLabel = "N", description = "tokens a minute")
    Long tokensPerMinute;

    @Option(names = "--monthly-budget-usd", paramLabel = "USD", converter = Usd.class,
        description = "monthly budget in US dollars, for example 100.00")
    String monthlyBudgetUsd;

    @Option(names = "--max-concurrent-requests", paramLabel = "N", description = "requests in flight at once")
    Integer maxConcurrentRequests;

    @Option(names = "--max-worker-leases", paramLabel = "N",
        description = "worker leases held at once (default: --max-concurrent-requests)")
    Integer maxWorkerLeases;

    /** The plan as the API takes it, each option given replacing the value in {@code base} (may be empty). */
    ObjectNode merged(ObjectNode base) {
      ObjectNode p = base.deepCopy();
      if (requestsPerMinute != null) p.put("requestsPerMinute", requestsPerMinute);
      if (tokensPerMinute != null) p.put("tokensPerMinute", tokensPerMinute);
      if (monthlyBudgetUsd != null) p.put("monthlyBudgetUsd", monthlyBudgetUsd);
      if (maxConcurrentRequests != null) p.put("maxConcurrentRequests", maxConcurrentRequests);
      if (maxWorkerLeases != null) p.put("maxWorkerLeases", maxWorkerLeases);
      return p;
    }

    boolean any() {
      return requestsPerMinute != null || tokensPerMinute != null || monthlyBudgetUsd != null
          || maxConcurrentRequests != null || maxWorkerLeases != null;
    }
  }

  /** A decimal amount of US dollars: 100, 100.5, 0.000001. */
  static final class Usd implements picocli.CommandLine.ITypeConverter<String> {
    @Override
    public String convert(String value) {
      if (!value.matches("[0-9]{1,12}(\\.[0-9]{1,6})?")) {
        throw new picocli.CommandLine.TypeConversionException("'" + value
            + "' is not an amount of US dollars (write 100.00; up to 6 decimals)");
      }
      return value;
    }
  }

  @Command(name = "create", description = "Create a tenant with a plan (POST /admin/tenants).")
  static final class Create extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id (lower case letters, digits and '-')")
    String id;

    @Option(names = "--name", paramLabel = "NAME", description = "display name (default: the id)")
    String name;

    @ArgGroup(exclusive = false, multiplicity = "1", heading = "Plan:%n")
    Required plan;

    static final class Required {
      @Option(names = "--requests-per-minute", paramLabel = "N", required = true, description = "requests a minute")
      long requestsPerMinute;

      @Option(names = "--tokens-per-minute", paramLabel = "N", required = true, description = "tokens a minute")
      long tokensPerMinute;

      @Option(names = "--monthly-budget-usd", paramLabel = "USD", required = true, converter = Usd.class,
          description = "monthly budget in US dollars, for example 100.00")
      String monthlyBudgetUsd;

      @Option(names = "--max-concurrent-requests", paramLabel = "N", required = true,
          description = "requests in flight at once")
      int maxConcurrentRequests;

      @Option(names = "--max-worker-leases", paramLabel = "N",
          description = "worker leases held at once (default: --max-concurrent-requests)")
      Integer maxWorkerLeases;
    }

    @Override
    int run() {
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("id", id);
      body.put("name", name == null ? id : name);
      ObjectNode p = body.putObject("plan");
      p.put("requestsPerMinute", plan.requestsPerMinute);
      p.put("tokensPerMinute", plan.tokensPerMinute);
      p.put("monthlyBudgetUsd", plan.monthlyBudgetUsd);
      p.put("maxConcurrentRequests", plan.maxConcurrentRequests);
      if (plan.maxWorkerLeases != null) {
        p.put("maxWorkerLeases", plan.maxWorkerLeases);
      }
      print(management().post("/admin/tenants", body));
      return 0;
    }
  }

  @Command(name = "get", description = "A tenant: its plan, keys and this month's usage (GET /admin/tenants/{id}).")
  static final class Get extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Override
    int run() {
      print(management().get("/admin/tenants/" + enc(id)));
      return 0;
    }
  }

  @Command(name = "set-plan", description = {"Change a tenant's plan (PUT /admin/tenants/{id}/plan).",
      "Limits not given keep their current value (read first with GET /admin/tenants/{id})."})
  static final class SetPlan extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @picocli.CommandLine.Mixin
    PlanOptions plan;

    @Override
    int run() {
      if (!plan.any()) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "set-plan needs at least one of "
            + "--requests-per-minute, --tokens-per-minute, --monthly-budget-usd, --max-concurrent-requests, "
            + "--max-worker-leases");
      }
      Management m = management();
      JsonNode current = m.get("/admin/tenants/" + enc(id)).path("plan");
      ObjectNode base = current.isObject() ? (ObjectNode) current : Management.JSON.createObjectNode();
      print(m.put("/admin/tenants/" + enc(id) + "/plan", plan.merged(base)));
      return 0;
    }
  }

  @Command(name = "location", description = "The node that holds a tenant (GET /admin/tenants/{id}/location).")
  static final class Location extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Override
    int run() {
      print(management().get("/admin/tenants/" + enc(id) + "/location"));
      return 0;
    }
  }

  @Command(name = "list", description = {"A page of tenants: id, name, plan and status (GET /admin/tenants).",
      "Pages follow the order tenants were created in; the next page starts at the page's nextCursor."})
  static final class List extends ApiCommand {
    @Option(names = "--cursor", paramLabel = "CURSOR", description = "the page after this cursor (nextCursor of a page)")
    String cursor;

    @Option(names = "--limit", paramLabel = "N", description = "tenants on a page, 1-100 (the node's default: 50)")
    Integer limit;

    @Override
    int run() {
      if (limit != null && (limit < 1 || limit > 100)) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "Invalid value for option '--limit': " + limit + " (give 1 to 100)");
      }
      print(management().get("/admin/tenants" + query("cursor", cursor, "limit", limit)));
      return 0;
    }
  }

  @Command(name = "suspend", description = {"Suspend a tenant (POST /admin/tenants/{id}/suspend).",
      "Its requests are refused at admission (gRPC PERMISSION_DENIED, REST 403 tenant_suspended) and nothing is",
      "billed until it is resumed; its keys, plan and usage stay. Suspending a suspended tenant changes nothing."})
  static final class Suspend extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Option(names = "--reason", paramLabel = "TEXT",
        description = "why (at most 500 characters), shown to the operator and in the tenant's refusals")
    String reason;

    @Override
    int run() {
      print(management().post("/admin/tenants/" + enc(id) + "/suspend", bodyWith("reason", reason)));
      return 0;
    }
  }

  @Command(name = "resume", description = {"Resume a suspended tenant (POST /admin/tenants/{id}/resume).",
      "Its keys admit requests again. Resuming an active tenant changes nothing."})
  static final class Resume extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Override
    int run() {
      print(management().post("/admin/tenants/" + enc(id) + "/resume", Management.JSON.createObjectNode()));
      return 0;
    }
  }

  @Command(name = "budget-alerts", description = {
      "A tenant's budget-alert thresholds and those crossed this month (GET /admin/tenants/{id}/budget-alerts)."})
  static final class BudgetAlerts extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Override
    int run() {
      print(management().get("/admin/tenants/" + enc(id) + "/budget-alerts"));
      return 0;
    }
  }

  @Command(name = "set-budget-alerts", description = {
      "Set a tenant's budget-alert thresholds (PUT /admin/tenants/{id}/budget-alerts).",
      "Each threshold crossed announces the webhook event budget.threshold_crossed once a month."})
  static final class SetBudgetAlerts extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Option(names = "--thresholds", paramLabel = "PERCENT", split = ",", required = true,
        description = "percentages of the monthly budget, ascending, 1 to 10 of them, each 1-100; for example "
            + "50,80,100")
    java.util.List<Integer> thresholds;

    @Override
    int run() {
      if (thresholds.size() > 10) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "Invalid value for option '--thresholds': " + thresholds.size() + " thresholds (give 1 to 10)");
      }
      for (int p : thresholds) {
        if (p < 1 || p > 100) {
          throw new picocli.CommandLine.ParameterException(spec.commandLine(),
              "Invalid value for option '--thresholds': " + p + " (each is a whole percentage from 1 to 100)");
        }
      }
      ObjectNode body = Management.JSON.createObjectNode();
      thresholds.forEach(body.putArray("thresholds")::add);
      print(management().put("/admin/tenants/" + enc(id) + "/budget-alerts", body));
      return 0;
    }
  }

  @Command(name = "sla", description = {"A tenant's SLA evidence for a month (GET /admin/tenants/{id}/sla?month=).",
      "Eligible requests, those over the latency threshold (share, ids), the month's charges and the credit."})
  static final class Sla extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Option(names = "--month", paramLabel = "YYYY-MM", required = true, description = "the month, for example 2026-11")
    java.time.YearMonth month;

    @Override
    int run() {
      print(management().get("/admin/tenants/" + enc(id) + "/sla" + query("month", month)));
      return 0;
    }
  }

  @Command(name = "export", description = {
      "Everything held about a tenant, as JSON (GET /admin/tenants/{id}/export).",
      "Its record and keys (never a secret), webhook endpoints, invoices with their credit notes, and usage.",
      "Always JSON (-o json is the only output)."})
  static final class Export extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Override
    int run() {
      if (spec.commandLine().getParseResult().hasMatchedOption("--output") && output.format != Format.json) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "export is always JSON: leave out -o " + output.format + " (or give -o json)");
      }
      out().print(Render.render(management().get("/admin/tenants/" + enc(id) + "/export"), Format.json));
      out().flush();
      return 0;
    }
  }

  @Command(name = "erase", description = {"Erase a tenant's personal data (POST /admin/tenants/{id}/erase).",
      "Revokes its keys, deletes its webhook endpoints with their deliveries and destroys its data key; usage,",
      "the ledger and invoices stay. It cannot be undone: --confirm must repeat the tenant's id."})
  static final class Erase extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String id;

    @Option(names = "--confirm", paramLabel = "TENANT", description = "the tenant's id again")
    String confirm;

    @Override
    int run() {
      if (!id.equals(confirm)) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "erasing tenant " + id
            + " cannot be undone: " + (confirm == null ? "add" : "--confirm " + confirm + " is not its id; give")
            + " --confirm " + id);
      }
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("confirm", confirm);
      print(management().post("/admin/tenants/" + enc(id) + "/erase", body));
      return 0;
    }
  }
}
