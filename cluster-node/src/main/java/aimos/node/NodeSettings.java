package aimos.node;

import com.typesafe.config.Config;
import java.time.Duration;

/** The node's own settings, read once from {@code aimos.*}. */
public record NodeSettings(String gatewayHost, int gatewayPort, Duration requestTimeout, Duration askTimeout,
                           Duration leaseTimeout, Duration leaseTtl, int maxPromptChars, int maxImageBytes, String adminToken, String secopsToken, boolean createTables,
                           String billingKeyspace, String clusterFormation, Duration bodyTimeout,
                           long replayOutputBytes, Duration replayOutputTtl, Duration reAskAfter) {

  @Override
  public String toString() {
    return "NodeSettings[gateway=" + gatewayHost + ":" + gatewayPort + ", requestTimeout=" + requestTimeout
        + ", askTimeout=" + askTimeout + ", adminToken=***, secopsToken=***, clusterFormation=" + clusterFormation + "]";
  }

  /**
   * How long an inference (REST or gRPC) may take before the HTTP server gives up on it: longer than the gateway's
   * longest path (admission, a lease and the slowest runtime's run, once more for a fallback, and the usage write),
   * so that the gateway always answers first and never bills an answer the HTTP server gave up on.
   */
  public Duration serverRequestTimeout() {
    Duration run = aimos.model.runtime.ModelRuntimes.longestRequestTimeout(requestTimeout);
    return leaseTimeout.plus(run).multipliedBy(2).plus(askTimeout.multipliedBy(2)).plusSeconds(10);
  }

  public static NodeSettings from(Config config) {
    Config a = config.getConfig("aimos");
    String formation = a.getString("cluster-formation");
    if (!formation.equals("seed-nodes") && !formation.equals("kubernetes")) {
      throw new IllegalArgumentException("aimos.cluster-formation must be seed-nodes or kubernetes, was " + formation);
    }
    aimos.access.token.ConfiguredTokens.check("aimos.admin.token (AIMOS_ADMIN_TOKEN)", a.getString("admin.token"));
    aimos.access.token.ConfiguredTokens.check("aimos.secops.token (AIMOS_SECOPS_TOKEN)", a.getString("secops.token"));
    return new NodeSettings(
        a.getString("gateway.host"),
        a.getInt("gateway.port"),
        a.getDuration("gateway.request-timeout"),
        a.getDuration("gateway.ask-timeout"),
        a.getDuration("model.lease-queue-timeout").plus(a.getDuration("gateway.ask-timeout")),
        a.getDuration("model.lease-ttl"),
        a.getInt("gateway.max-prompt-chars"),
        (int) Math.min(Integer.MAX_VALUE, a.getBytes("gateway.max-image-bytes")),
        a.getString("admin.token"),
        a.getString("secops.token"),
        a.getBoolean("create-tables"),
        a.getString("billing.keyspace"),
        formation,
        a.getDuration("gateway.body-timeout"),
        a.getBytes("gateway.replay-output-bytes"),
        a.getDuration("gateway.replay-output-ttl"),
        a.getDuration("gateway.re-ask-after"));
  }
}
