package aimos.tenant;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a tenant's API key may do. An inference key runs models and reads the tenant's models and usage; a
 * tenant-admin key manages the tenant's own keys and webhooks and runs nothing, so a key that leaks from an
 * application cannot add endpoints or mint keys, and one held by the tenant's administrator cannot spend.
 */
public enum KeyScope {
  INFERENCE,
  TENANT_ADMIN;

  /** As the API and events name it: {@code inference}, {@code tenant-admin}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** As events and snapshots keep it: "" for {@link #INFERENCE}, as everything written before scopes has it. */
  public String stored() {
    return this == INFERENCE ? "" : label();
  }

  /** The scope of a label; "" (events and messages written before scopes) is {@link #INFERENCE}. */
  public static KeyScope ofLabel(String label) {
    if (label == null || label.isEmpty()) {
      return INFERENCE;
    }
    for (KeyScope s : values()) {
      if (s.label().equals(label)) {
        return s;
      }
    }
    throw new IllegalArgumentException("scope must be one of " + Arrays.stream(values()).map(KeyScope::label)
        .collect(Collectors.joining(", ")) + ", was '" + label + "'");
  }
}
