package aimos.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "tokens", description = "Admin tokens (role admin): issue, list, rotate, revoke.",
    subcommands = {TokensCommand.List.class, TokensCommand.Issue.class, TokensCommand.Rotate.class,
        TokensCommand.Revoke.class})
final class TokensCommand {
  enum Role { admin, operator, billing, secops, viewer }

  @Command(name = "list", description = "Every issued token, without its secret (GET /admin/tokens).")
  static final class List extends ApiCommand {
    @Override
    int run() {
      print(management().get("/admin/tokens"));
      return 0;
    }
  }

  @Command(name = "issue", description = {"Issue a token with a role (POST /admin/tokens).",
      "The token is printed once; only a salted hash is stored."})
  static final class Issue extends ApiCommand {
    @Option(names = "--name", paramLabel = "NAME", required = true, description = "who or what holds it")
    String name;

    @Option(names = "--role", paramLabel = "ROLE", required = true, description = "one of ${COMPLETION-CANDIDATES}")
    Role role;

    @Override
    int run() {
      ObjectNode body = Management.JSON.createObjectNode();
      body.put("name", name);
      body.put("role", role.name());
      print(management().post("/admin/tokens", body));
      return 0;
    }
  }

  @Command(name = "rotate", description = {"Give a token a new secret (POST /admin/tokens/{id}/rotate).",
      "The previous secret is accepted for a grace period; the new one is printed once."})
  static final class Rotate extends ApiCommand {
    @Parameters(paramLabel = "ID", description = "the token's id (tokens list shows them)")
    String id;

    @Override
    int run() {
      print(management().post("/admin/tokens/" + enc(id) + "/rotate", null));
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke a token (DELETE /admin/tokens/{id}).")
  static final class Revoke extends ApiCommand {
    @Parameters(paramLabel = "ID", description = "the token's id (tokens list shows them)")
    String id;

    @Override
    int run() {
      print(management().delete("/admin/tokens/" + enc(id)));
      return 0;
    }
  }
}
