package aimos.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "models", description = "The model catalogue: register models, add and retire versions, read leases.",
    subcommands = {ModelsCommand.List.class, ModelsCommand.Get.class, ModelsCommand.Register.class,
        ModelsCommand.AddVersion.class, ModelsCommand.Retire.class, ModelsCommand.Leases.class})
final class ModelsCommand {
  enum BillingUnit { TOKENS, IMAGES, AUDIO_MINUTES }

  @Command(name = "list", description = "Every model with its versions (GET /admin/models).")
  static final class List extends ApiCommand {
    @Override
    int run() {
      print(management().get("/admin/models"));
      return 0;
    }
  }

  @Command(name = "get", description = "One model (GET /admin/models/{name}).")
  static final class Get extends ApiCommand {
    @Parameters(paramLabel = "MODEL", description = "the model's name")
    String name;

    @Override
    int run() {
      print(management().get("/admin/models/" + enc(name)));
      return 0;
    }
  }

  @Command(name = "register", description = "Register a model (POST /admin/models); add versions with add-version.")
  static final class Register extends ApiCommand {
    @Parameters(paramLabel = "MODEL", description = "the model's name")
    String name;

    @Option(names = "--description", paramLabel = "TEXT", description = "what the model does")
    String description;

    @Override
    int run() {
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("name", name);
      if (description != null) {
        body.put("description", description);
      }
      print(management().post("/admin/models", body));
      return 0;
    }
  }

  @Command(name = "add-version", description = "Add a version to a model (POST /admin/models/{name}/versions).")
  static final class AddVersion extends ApiCommand {
    @Parameters(paramLabel = "MODEL", description = "the model's name")
    String name;

    @Option(names = "--version", paramLabel = "VERSION", required = true, description = "the version, for example v1")
    String version;

    @Option(names = "--runtime", paramLabel = "RUNTIME", required = true,
        description = "the runtime that serves it (for example text, the demo text model's)")
    String runtime;

    @Option(names = "--billing-unit", paramLabel = "UNIT", required = true,
        description = "TOKENS, IMAGES or AUDIO_MINUTES")
    BillingUnit billingUnit;

    @Option(names = "--unit-price-usd", paramLabel = "USD", converter = TenantsCommand.Usd.class,
        description = "price of one unit in US dollars (default: the price list's)")
    String unitPriceUsd;

    @Option(names = "--replicas", paramLabel = "N", description = "workers to run (default 1)")
    Integer replicas;

    @Option(names = "--device-memory-mb", paramLabel = "MB", description = "accelerator memory a worker needs")
    Integer deviceMemoryMb;

    @Option(names = "--fallback", paramLabel = "VERSION", description = "version to use when this one cannot answer")
    String fallback;

    @Override
    int run() {
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("version", version);
      body.put("runtime", runtime);
      body.put("billingUnit", billingUnit.name());
      if (unitPriceUsd != null) body.put("unitPriceUsd", unitPriceUsd);
      if (replicas != null) body.put("replicas", replicas);
      if (deviceMemoryMb != null) body.put("deviceMemoryMb", deviceMemoryMb);
      if (fallback != null) body.put("fallback", fallback);
      print(management().post("/admin/models/" + enc(name) + "/versions", body));
      return 0;
    }
  }

  @Command(name = "retire", description = {
      "Retire a model version (POST /admin/models/{name}/versions/{version}/retire).",
      "It takes no new requests (they are refused, naming the version to use instead), the requests it is serving",
      "finish, then its sandboxes are stopped; it stays listed in retiredVersions. Retiring is final; again: no change."})
  static final class Retire extends ApiCommand {
    @Parameters(index = "0", paramLabel = "MODEL", description = "the model's name")
    String name;

    @Parameters(index = "1", paramLabel = "VERSION", description = "the version to retire")
    String version;

    @Override
    int run() {
      print(management().post("/admin/models/" + enc(name) + "/versions/" + enc(version) + "/retire",
          Management.JSON.createObjectNode()));
      return 0;
    }
  }

  @Command(name = "leases", description = "The worker leases of a model (GET /admin/models/{name}/leases).")
  static final class Leases extends ApiCommand {
    @Parameters(paramLabel = "MODEL", description = "the model's name")
    String name;

    @Override
    int run() {
      print(management().get("/admin/models/" + enc(name) + "/leases"));
      return 0;
    }
  }
}
