package aimos.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "keys", description = "A tenant's API keys: issue, list, revoke.",
    subcommands = {KeysCommand.Issue.class, KeysCommand.List.class, KeysCommand.Revoke.class})
final class KeysCommand {
  enum Scope {
    inference, tenant_admin;

    String label() {
      return name().replace('_', '-');
    }
  }

  @Command(name = "issue", description = {"Issue an API key (POST /admin/tenants/{id}/keys).",
      "The key is printed once; only a salted hash is stored."})
  static final class Issue extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String tenant;

    @Option(names = "--scope", paramLabel = "SCOPE", defaultValue = "inference",
        converter = ScopeConverter.class,
        description = "inference (runs models) or tenant-admin (manages the tenant's keys and webhooks); "
            + "default: ${DEFAULT-VALUE}")
    Scope scope;

    @Override
    int run() {
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("scope", scope.label());
      print(management().post("/admin/tenants/" + enc(tenant) + "/keys", body));
      return 0;
    }
  }

  static final class ScopeConverter implements picocli.CommandLine.ITypeConverter<Scope> {
    @Override
    public Scope convert(String value) {
      for (Scope s : Scope.values()) {
        if (s.label().equals(value)) {
          return s;
        }
      }
      throw new picocli.CommandLine.TypeConversionException("'" + value
          + "' is not a key scope (write inference or tenant-admin)");
    }
  }

  @Command(name = "list", description = "A tenant's keys, revoked ones too (from GET /admin/tenants/{id}).")
  static final class List extends ApiCommand {
    @Parameters(paramLabel = "TENANT", description = "the tenant's id")
    String tenant;

    @Override
    int run() {
      print(management().get("/admin/tenants/" + enc(tenant)).path("keys"));
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke a key (DELETE /admin/tenants/{id}/keys/{keyId}).")
  static final class Revoke extends ApiCommand {
    @Parameters(index = "0", paramLabel = "TENANT", description = "the tenant's id")
    String tenant;

    @Parameters(index = "1", paramLabel = "KEY_ID", description = "the key's id (keys list shows them)")
    String keyId;

    @Override
    int run() {
      print(management().delete("/admin/tenants/" + enc(tenant) + "/keys/" + enc(keyId)).path("keys"));
      return 0;
    }
  }
}
