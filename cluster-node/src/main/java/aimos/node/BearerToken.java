package aimos.node;

/** The token of an {@code Authorization: Bearer <token>} header (scheme case-insensitive), or "" when there is none. */
public final class BearerToken {
  private BearerToken() {}

  public static String of(String header) {
    return header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : "";
  }
}
