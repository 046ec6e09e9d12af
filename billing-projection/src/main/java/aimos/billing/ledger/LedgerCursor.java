package aimos.billing.ledger;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the next ledger page starts, as an opaque token: base64url of "v1|month|sequenceNr". Parsing is strict:
 * anything else, or a cursor of another month, is refused with a reason.
 */
public final class LedgerCursor {
  private static final int MAX_CHARS = 64;
  private static final Pattern FORMAT = Pattern.compile("v1\\|(\\d{4}-\\d{2})\\|([1-9][0-9]{0,18})");

  private LedgerCursor() {}

  public static String encode(String month, long nextSequenceNr) {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString(("v1|" + month + "|" + nextSequenceNr).getBytes(StandardCharsets.US_ASCII));
  }

  /** The sequence number the cursor points at; IllegalArgumentException if it is not a cursor of {@code month}. */
  public static long decode(String cursor, String month) {
    if (cursor.isEmpty() || cursor.length() > MAX_CHARS) {
      throw new IllegalArgumentException("cursor is not one this server gave out (use the nextCursor of a page)");
    }
    String text;
    try {
      text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("cursor is not one this server gave out (use the nextCursor of a page)");
    }
    Matcher m = FORMAT.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException("cursor is not one this server gave out (use the nextCursor of a page)");
    }
    if (!m.group(1).equals(month)) {
      throw new IllegalArgumentException("cursor belongs to month " + m.group(1) + ", not " + month);
    }
    try {
      return Long.parseLong(m.group(2));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("cursor is not one this server gave out (use the nextCursor of a page)");
    }
  }
}
