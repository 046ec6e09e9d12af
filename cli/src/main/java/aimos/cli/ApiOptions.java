package aimos.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the management API is and which token to use; the token itself never comes from the command line. */
public final class ApiOptions {
  @Option(names = "--management", paramLabel = "HOST:PORT",
      description = "management HTTP address (default: $AIMOS_MANAGEMENT, else 127.0.0.1:8558); "
          + "an https:// or http:// URL is used as it is")
  String management;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "file whose first line is the token (default: $AIMOS_ADMIN_TOKEN; for secops commands "
          + "$AIMOS_SECOPS_TOKEN first)")
  Path tokenFile;
}
