package aimos.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "webhooks", description = {"A tenant's webhook endpoints: add, list, read, disable, enable, rotate",
    "their secrets, read their deliveries, delete (/admin/tenants/{id}/webhooks)."},
    subcommands = {WebhooksCommand.List.class, WebhooksCommand.Add.class, WebhooksCommand.Get.class,
        WebhooksCommand.Delete.class, WebhooksCommand.Disable.class, WebhooksCommand.Enable.class,
        WebhooksCommand.RotateSecret.class, WebhooksCommand.Deliveries.class})
final class WebhooksCommand {

  static String base(String tenant) {
    return "/admin/tenants/" + ApiCommand.enc(tenant) + "/webhooks";
  }

  /** A command on one endpoint of one tenant. */
  abstract static class OnEndpoint extends ApiCommand {
    @Parameters(index = "0", paramLabel = "TENANT", description = "the tenant's id")
    String tenant;

    @Parameters(index = "1", paramLabel = "ENDPOINT", description = "the endpoint's id (webhooks list shows them)")
    String endpoint;

    String path() {
      return base(tenant) + "/" + enc(endpoint);
    }
  }

  @Command(name = "list", description = "A tenant's webhook endpoints, never a secret (GET /admin/tenants/{id}/webhooks).")
  static final class List extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String tenant;

    @Override
    int run() {
      print(management().get(base(tenant)));
      return 0;
    }
  }

  @Command(name = "add", description = {"Register a webhook endpoint (POST /admin/tenants/{id}/webhooks).",
      "Prints the endpoint and its signing secret, shown once. At most 10 endpoints a tenant."})
  static final class Add extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String tenant;

    @Option(names = "--url", paramLabel = "URL", required = true,
        description = "where deliveries go: an https:// (or http://) URL, at most 2,048 characters")
    String url;

    @Option(names = "--event-types", paramLabel = "TYPE", split = ",",
        description = "the event types it receives, for example invoice.finalized,budget.threshold_crossed "
            + "(default: all)")
    java.util.List<String> eventTypes;

    @Option(names = "--description", paramLabel = "TEXT", description = "what the endpoint is for")
    String description;

    @Override
    int run() {
      if (!url.startsWith("https://") && !url.startsWith("http://")) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "Invalid value for option '--url': '" + url + "' (write an https:// or http:// URL)");
      }
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("url", url);
      if (eventTypes != null) {
        eventTypes.forEach(body.putArray("eventTypes")::add);
      }
      if (description != null) {
        body.put("description", description);
      }
      print(management().post(base(tenant), body));
      return 0;
    }
  }

  @Command(name = "get", description = "One webhook endpoint (GET /admin/tenants/{id}/webhooks/{endpoint}).")
  static final class Get extends OnEndpoint {
    @Override
    int run() {
      print(management().get(path()));
      return 0;
    }
  }

  @Command(name = "delete", description = {"Delete a webhook endpoint (DELETE /admin/tenants/{id}/webhooks/{endpoint}).",
      "Its pending deliveries are cancelled."})
  static final class Delete extends OnEndpoint {
    @Override
    int run() {
      print(management().delete(path()));
      return 0;
    }
  }

  @Command(name = "disable", description = "Stop deliveries to an endpoint "
      + "(POST /admin/tenants/{id}/webhooks/{endpoint}/disable).")
  static final class Disable extends OnEndpoint {
    @Override
    int run() {
      print(management().post(path() + "/disable", null));
      return 0;
    }
  }

  @Command(name = "enable", description = "Resume deliveries to an endpoint, its target checked again "
      + "(POST /admin/tenants/{id}/webhooks/{endpoint}/enable).")
  static final class Enable extends OnEndpoint {
    @Override
    int run() {
      print(management().post(path() + "/enable", null));
      return 0;
    }
  }

  @Command(name = "rotate-secret", description = {"A new signing secret for an endpoint, shown once "
      + "(POST /admin/tenants/{id}/webhooks/{endpoint}/rotate-secret).",
      "The previous secret also signs for aimos.webhooks.secret-rotation-overlap (24 h)."})
  static final class RotateSecret extends OnEndpoint {
    @Override
    int run() {
      print(management().post(path() + "/rotate-secret", null));
      return 0;
    }
  }

  @Command(name = "deliveries", description = {"An endpoint's newest deliveries, each with every attempt",
      "(GET /admin/tenants/{id}/webhooks/{endpoint}/deliveries)."})
  static final class Deliveries extends OnEndpoint {
    @Option(names = "--limit", paramLabel = "N", description = "deliveries to show, 1-200 (the node's default: 50)")
    Integer limit;

    @Override
    int run() {
      if (limit != null && (limit < 1 || limit > 200)) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "Invalid value for option '--limit': " + limit + " (give 1 to 200)");
      }
      print(management().get(path() + "/deliveries" + query("limit", limit)));
      return 0;
    }
  }
}
