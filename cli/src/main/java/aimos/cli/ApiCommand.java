package aimos.cli;

import aimos.chaos.tls.ClientTls;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** A command that calls the management API and prints its answer ({@code -o table|json|yaml}). */
abstract class ApiCommand implements Callable<Integer> {
  static final String DEFAULT_MANAGEMENT = "127.0.0.1:8558";

  @Spec
  CommandSpec spec;

  @Mixin
  ApiOptions api;

  @Mixin
  OutputOption output;

  /** Whether this command's route is for the secops role (its token comes from AIMOS_SECOPS_TOKEN first). */
  boolean secops() {
    return false;
  }

  Map<String, String> env() {
    return ((AimosCli) spec.root().userObject()).env();
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** The client: address from --management, else AIMOS_MANAGEMENT, else the default; TLS as the tools choose it. */
  Management management() {
    String address = api.management;
    String source = "--management";
    if (address == null) {
      address = env().getOrDefault("AIMOS_MANAGEMENT", "").strip();
      source = "AIMOS_MANAGEMENT";
      if (address.isEmpty()) {
        address = DEFAULT_MANAGEMENT;
      }
    }
    if (!Management.validAddress(address)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "Invalid value for " + source + ": '" + address
          + "' (write HOST:PORT, for example 127.0.0.1:8558, or an http(s):// URL)");
    }
    ClientTls tls;
    try {
      tls = ClientTls.fromEnvironment(env()::get);
      if (tls.enabled()) {
        tls.sslContext();
      }
    } catch (IllegalArgumentException e) {
      throw new CliFailure(e.getMessage());
    }
    return new Management(address, tls, token());
  }

  /** --token-file's first line, else the environment; never an argument. */
  String token() {
    if (api.tokenFile != null) {
      try {
        String value = Files.readString(api.tokenFile, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
        if (value.isEmpty()) {
          throw new CliFailure("--token-file " + api.tokenFile + " is empty: write the token on its first line");
        }
        return value;
      } catch (IOException e) {
        throw new CliFailure("--token-file " + api.tokenFile + " cannot be read (" + e.getClass().getSimpleName()
            + "): give a readable file whose first line is the token");
      }
    }
    if (secops()) {
      String s = env().getOrDefault("AIMOS_SECOPS_TOKEN", "").strip();
      if (!s.isEmpty()) {
        return s;
      }
    }
    String a = env().getOrDefault("AIMOS_ADMIN_TOKEN", "").strip();
    if (!a.isEmpty()) {
      return a;
    }
    throw new CliFailure(secops()
        ? "no token: set AIMOS_SECOPS_TOKEN (a token with the secops role) or pass --token-file FILE"
        : "no admin token: set AIMOS_ADMIN_TOKEN (bin/aimos dev prints it) or pass --token-file FILE");
  }

  void print(JsonNode answer) {
    out().print(Render.render(answer, output.format));
    out().flush();
  }

  /** A JSON body holding {@code name}: {@code value} when the value was given, else an empty body. */
  static com.fasterxml.jackson.databind.node.ObjectNode bodyWith(String name, String value) {
    var body = Management.JSON.createObjectNode();
    if (value != null) {
      body.put(name, value);
    }
    return body;
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** {@code ?a=1&b=2} of the pairs whose value is not null, or "". */
  static String query(Object... pairs) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < pairs.length; i += 2) {
      if (pairs[i + 1] != null) {
        b.append(b.length() == 0 ? '?' : '&').append(pairs[i]).append('=').append(enc(pairs[i + 1].toString()));
      }
    }
    return b.toString();
  }

  @Override
  public final Integer call() {
    return run();
  }

  abstract int run();
}
