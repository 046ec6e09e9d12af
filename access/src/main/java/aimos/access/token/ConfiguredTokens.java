package aimos.access.token;

import java.util.Locale;
import java.util.Set;

/**
 * The start-up check of tokens set in configuration (the bootstrap admin and secops tokens): a default, a short or a
 * low-variety token stops the node with a message that says how to make a good one. An empty token leaves that API
 * disabled, as before.
 */
public final class ConfiguredTokens {
  public static final int MIN_LENGTH = 32;
  private static final Set<String> KNOWN_DEFAULTS = Set.of("change-me", "changeme", "local-admin-token",
      "local-secops-token", "admin", "secret", "password", "token", "test-admin-token", "test-secops-token");

  private ConfiguredTokens() {}

  /** Refuses a weak token; {@code setting} names the setting and its variable for the message. */
  public static void check(String setting, String token) {
    if (token.isEmpty()) {
      return;
    }
    String how = "; generate one with 'openssl rand -base64 32' (or 'head -c 32 /dev/urandom | base64')";
    if (KNOWN_DEFAULTS.contains(token.toLowerCase(Locale.ROOT).strip())) {
      throw new IllegalArgumentException(setting + " is a well-known default value" + how);
    }
    if (token.length() < MIN_LENGTH) {
      throw new IllegalArgumentException(setting + " is " + token.length() + " characters long; at least "
          + MIN_LENGTH + " are required" + how);
    }
    if (token.chars().distinct().count() < 10) {
      throw new IllegalArgumentException(setting + " uses fewer than 10 distinct characters" + how);
    }
  }
}
