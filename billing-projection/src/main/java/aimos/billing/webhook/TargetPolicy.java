package aimos.billing.webhook;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;

/**
 * Which URLs webhooks may be sent to. Against server-side request forgery, a target whose host resolves to a
 * loopback, private, link-local, carrier-grade NAT, unique-local, multicast or unspecified address is refused unless
 * {@code aimos.webhooks.allow-private-targets} is on (development and tests). Checked at registration and again
 * before every attempt, since DNS may change in between.
 */
public final class TargetPolicy {
  static final int MAX_URL_LENGTH = 2048;

  /** A target refused; the message says why and what to do. */
  public static final class Refused extends IllegalArgumentException {
    public Refused(String message) {
      super(message);
    }
  }

  private final boolean allowPrivate;

  public TargetPolicy(boolean allowPrivate) {
    this.allowPrivate = allowPrivate;
  }

  /** The URL parsed and checked for its form only: http(s), a host, no user info, no fragment. */
  public static URI parse(String url) {
    if (url == null || url.isBlank()) {
      throw new Refused("url is required, for example https://example.com/aimos-webhooks");
    }
    if (url.length() > MAX_URL_LENGTH) {
      throw new Refused("url must be at most " + MAX_URL_LENGTH + " characters, was " + url.length());
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new Refused("url is not a valid URL: " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw new Refused("url must start with https:// (or http://), was '" + uri.getScheme() + "'");
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw new Refused("url must name a host");
    }
    if (uri.getRawUserInfo() != null) {
      throw new Refused("url must not carry user info (user:password@); authenticate the webhook by its signature");
    }
    if (uri.getRawFragment() != null) {
      throw new Refused("url must not have a fragment (#...)");
    }
    return uri;
  }

  /** Parses the URL and resolves its host; refuses it when any of its addresses is internal (unless allowed). */
  public URI check(String url) {
    URI uri = parse(url);
    if (allowPrivate) {
      return uri;
    }
    InetAddress[] addresses;
    try {
      addresses = InetAddress.getAllByName(uri.getHost());
    } catch (UnknownHostException e) {
      throw new Refused("the host " + uri.getHost() + " does not resolve");
    }
    for (InetAddress a : addresses) {
      if (internal(a)) {
        throw new Refused("the host " + uri.getHost() + " resolves to " + a.getHostAddress() + ", a loopback, "
            + "private or link-local address; webhooks go to public addresses only (aimos.webhooks."
            + "allow-private-targets allows others, for development)");
      }
    }
    return uri;
  }

  static boolean internal(InetAddress a) {
    if (a.isAnyLocalAddress() || a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress()
        || a.isMulticastAddress()) {
      return true;
    }
    byte[] b = a.getAddress();
    if (a instanceof Inet4Address) {
      int first = b[0] & 0xff;
      int second = b[1] & 0xff;
      return first == 0                                   // "this" network
          || first == 100 && second >= 64 && second < 128 // carrier-grade NAT 100.64/10
          || first == 192 && second == 0 && (b[2] & 0xff) == 0 // IETF protocol assignments 192.0.0/24
          || first == 198 && (second == 18 || second == 19)    // benchmarking 198.18/15
          || first >= 240;                                // reserved and broadcast
    }
    if (a instanceof Inet6Address) {
      int first = b[0] & 0xff;
      if ((first & 0xfe) == 0xfc) {
        return true; // unique local fc00::/7
      }
      // IPv4-compatible / NAT64 forms embed an IPv4 address: judge that one
      boolean mapped64 = first == 0x00 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b;
      if (mapped64) {
        try {
          return internal(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
        } catch (UnknownHostException e) {
          return true;
        }
      }
    }
    return false;
  }
}
