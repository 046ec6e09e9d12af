package aimos.chaos.cli;

import aimos.access.audit.AuditChain;
import aimos.access.audit.AuditRecord;
import aimos.access.audit.AuditVerifier;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@code aimos audit verify}: reads the whole audit log page by page and checks, here and not on the node, that no
 * record was changed, removed, inserted or reordered, that every signature verifies with the cluster's public key,
 * and that the log reaches as far as its writer has written.
 */
public final class AuditCommand {
  static final String USAGE = """
      Usage: bin/aimos audit verify [--public-key-file F] [--management HOST:PORT] [--secops-token-file F]

        Reads every audit record through GET /admin/audit and checks its hash chain and Ed25519 signatures.
        --public-key-file F   the cluster's audit public key (PEM; 'openssl pkey -pubout' of the signing key);
                              without it the key is fetched from the node, which proves less
        --management H:P      management HTTP (default $AIMOS_MANAGEMENT, else 127.0.0.1:8558)
        token: AIMOS_SECOPS_TOKEN, or --secops-token-file F (a token with the secops or admin role)
      Exit status: 0 intact, 1 tampered, 2 could not check.
      """;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int PAGE = 1000;

  private AuditCommand() {}

  public static void main(String[] args) {
    try {
      System.exit(run(args));
    } catch (IllegalArgumentException | IllegalStateException e) {
      System.err.println(e.getMessage());
      System.exit(2);
    }
  }

  public static int run(String[] args) {
    if (args.length == 0 || !args[0].equals("verify")) {
      System.err.print(USAGE);
      return 2;
    }
    Map<String, String> o = new HashMap<>();
    for (int i = 1; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("unexpected '" + args[i] + "'\n" + USAGE);
      }
      o.put(args[i].substring(2), args[++i]);
    }
    String management = o.getOrDefault("management",
        Optional.ofNullable(System.getenv("AIMOS_MANAGEMENT")).orElse("127.0.0.1:8558"));
    String token = Secrets.of(o, "secops-token", "AIMOS_SECOPS_TOKEN");
    if (token.isEmpty()) {
      throw new IllegalArgumentException("set AIMOS_SECOPS_TOKEN or pass --secops-token-file F");
    }
    return verify(management, token, aimos.chaos.tls.ClientTls.fromEnvironment(),
        Optional.ofNullable(o.get("public-key-file")).map(Path::of), new java.io.PrintWriter(System.out, true));
  }

  /**
   * What a check of the whole log found: {@code problem} is empty when the chain and signatures are intact up to
   * the writer's head.
   */
  public record Verdict(boolean intact, long checked, long head, String problem, String publicKey) {
    /** Exit status: 0 intact, 1 tampered. */
    public int status() {
      return intact ? 0 : 1;
    }

    /** The verdict's line: OK or TAMPERED and why. */
    public String line() {
      return intact ? "OK: " + checked + " records, chain and signatures intact, up to the writer's head " + head
          : "TAMPERED: " + problem;
    }
  }

  /**
   * Reads the whole log from {@code management} and checks it, printing progress and the verdict to {@code out}.
   * Returns 0 when intact, 1 when tampered; throws IllegalArgumentException or IllegalStateException when it
   * could not check.
   */
  public static int verify(String management, String token, aimos.chaos.tls.ClientTls tls,
                           Optional<Path> publicKeyFile, java.io.PrintWriter out) {
    Verdict v = check(management, token, tls, publicKeyFile, out);
    out.println(v.line());
    return v.status();
  }

  /**
   * Reads the whole log from {@code management} and checks it, printing progress to {@code progress}; throws
   * IllegalArgumentException or IllegalStateException when it could not check.
   */
  public static Verdict check(String management, String token, aimos.chaos.tls.ClientTls tls,
                              Optional<Path> publicKeyFile, java.io.PrintWriter out) {
    String base = tls.url(management, "");
    HttpClient http = tls.httpClient().connectTimeout(java.time.Duration.ofSeconds(5)).build();
    PublicKey key;
    if (publicKeyFile.isPresent()) {
      try {
        key = AuditChain.publicKey(Files.readString(publicKeyFile.get()));
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read " + publicKeyFile.get() + ": " + e.getMessage());
      }
    } else {
      out.println("No --public-key-file: using the public key the node reports.");
      key = AuditChain.publicKey(get(http, base + "/admin/audit/public-key", token));
    }
    AuditVerifier v = new AuditVerifier(Optional.of(key));
    long from = 1;
    JsonNode head = null;
    while (true) {
      JsonNode page = json(get(http, base + "/admin/audit?from=" + from + "&limit=" + PAGE, token));
      head = page.get("head");
      for (JsonNode r : page.get("records")) {
        if (!v.accept(record(r))) {
          break;
        }
      }
      out.println("checked " + v.checked() + " records");
      if (v.problem().isPresent() || page.get("next").isNull()) {
        break;
      }
      from = page.get("next").asLong();
    }
    long headSeq = head == null ? 0 : head.get("seq").asLong();
    Optional<String> problem = v.problem().or(() -> v.lastSeq() < headSeq
        ? Optional.of("the log ends at record " + v.lastSeq() + " but its writer has written " + headSeq
            + ": records were removed from its end")
        : Optional.empty());
    return new Verdict(problem.isEmpty(), v.checked(), headSeq, problem.orElse(""),
        publicKeyFile.isPresent() ? "file " + publicKeyFile.get() : "reported by the node");
  }

  private static AuditRecord record(JsonNode r) {
    return new AuditRecord(r.get("seq").asLong(), r.get("atMillis").asLong(), r.get("actor").asText(),
        r.get("role").asText(), r.get("action").asText(), r.get("target").asText(), r.get("requestId").asText(),
        r.get("summary").asText(), r.get("prevHash").asText(), r.get("hash").asText(), r.get("signature").asText());
  }

  private static String get(HttpClient http, String url, String token) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
          .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IllegalStateException("GET " + url + " answered " + r.statusCode() + ": " + r.body());
      }
      return r.body();
    } catch (IOException e) {
      throw new IllegalStateException("cannot reach " + url + ": " + e.getMessage()
          + " (is the node running? set AIMOS_MANAGEMENT=host:port; a plaintext node needs AIMOS_DEV_PLAINTEXT=1)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }

  private static JsonNode json(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new IllegalStateException("the node did not answer JSON: " + e.getMessage());
    }
  }
}
