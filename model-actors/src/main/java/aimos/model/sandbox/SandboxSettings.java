package aimos.model.sandbox;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How this node runs sandboxes: the launch command, the slots (concurrent requests) of each worker, the OS caps,
 * deadlines and health pings, restart backoff, and when a failing sandbox is quarantined.
 *
 * @param pingTimeout     with {@code missedPings}, how long a sandbox may leave its health pings unanswered
 * @param missedPings     the process is killed as hung when no ping has been answered for {@code pingTimeout} times
 *                        this (a late answer still shows it alive)
 * @param quarantineAfter failures within {@code failureWindow} that put a sandbox in quarantine
 * @param probeInterval   how often a quarantined sandbox is started again and probed
 */
public record SandboxSettings(String javaCommand, List<String> jvmOptions, String classpath, Path workDir, int slots,
                              Duration requestTimeout, Duration startTimeout, Duration heartbeat,
                              Duration backoffMin, Duration backoffMax, Duration pingInterval, Duration pingTimeout,
                              int missedPings, Duration failureWindow, int quarantineAfter, Duration probeInterval,
                              int maxReplyBytes, SandboxIsolation isolation,
                              java.util.Map<String, aimos.model.runtime.OpenAiUpstreamRuntime.Provider> upstreams,
                              java.util.Map<String, String> environment) {

  /**
   * The full JVM command line options: the configured ones, the heap cap derived from the memory cap, and thread
   * priorities that the OS honours (the ping thread answers ahead of busy model threads).
   */
  public List<String> jvmOptionsWithHeap() {
    List<String> opts = new ArrayList<>(jvmOptions);
    opts.add("-Xmx" + isolation.heapMb() + "m");
    opts.add("-XX:+ExitOnOutOfMemoryError");
    opts.add("-XX:ThreadPriorityPolicy=1");
    return opts;
  }

  /** How long a sandbox may leave every health ping unanswered before it is killed as hung. */
  public Duration hangAfter() {
    return pingTimeout.multipliedBy(missedPings);
  }

  public SandboxProcess.LaunchSpec launchSpec(Path dir) {
    return new SandboxProcess.LaunchSpec(javaCommand, jvmOptionsWithHeap(), classpath, dir, environment);
  }

  public SandboxSettings withSupervision(Duration requestTimeout, Duration pingInterval, Duration failureWindow,
                                         int quarantineAfter, Duration probeInterval) {
    return new SandboxSettings(javaCommand, jvmOptions, classpath, workDir, slots, requestTimeout, startTimeout,
        heartbeat, backoffMin, backoffMax, pingInterval, pingTimeout, missedPings, failureWindow, quarantineAfter,
        probeInterval, maxReplyBytes, isolation, upstreams, environment);
  }

  /** The same settings with these upstream providers (the containment test runs its probe as an upstream sandbox). */
  public SandboxSettings withUpstreams(
      java.util.Map<String, aimos.model.runtime.OpenAiUpstreamRuntime.Provider> providers) {
    return new SandboxSettings(javaCommand, jvmOptions, classpath, workDir, slots, requestTimeout, startTimeout,
        heartbeat, backoffMin, backoffMax, pingInterval, pingTimeout, missedPings, failureWindow, quarantineAfter,
        probeInterval, maxReplyBytes, isolation, providers, environment);
  }

  /** The same settings with other caps or containment (tests compare a contained node with an uncontained one). */
  public SandboxSettings withIsolation(SandboxIsolation other) {
    return new SandboxSettings(javaCommand, jvmOptions, classpath, workDir, slots, requestTimeout, startTimeout,
        heartbeat, backoffMin, backoffMax, pingInterval, pingTimeout, missedPings, failureWindow, quarantineAfter,
        probeInterval, maxReplyBytes, other, upstreams, environment);
  }

  /**
   * These settings for a sandbox of {@code runtime}: its memory and request time raised to what it needs; an upstream
   * runtime gets a way out to its provider's host only (see {@link SandboxIsolation#withEgressTo}) and its provider's
   * settings in its environment, and answers within its provider's attempts.
   */
  public SandboxSettings forRuntime(String runtime) {
    Duration timeout = aimos.model.runtime.ModelRuntimes.requestTimeout(runtime, requestTimeout);
    SandboxIsolation iso = isolation.withMemoryAtLeast(aimos.model.runtime.ModelRuntimes.minMemoryMb(runtime));
    java.util.Map<String, String> env = environment;
    List<String> options = aimos.model.runtime.ModelRuntimes.computeHeavy(runtime)
        ? jvmOptions.stream().filter(o -> !o.startsWith("-XX:TieredStopAtLevel")).toList() : jvmOptions;
    String provider = aimos.model.runtime.OpenAiUpstreamRuntime.providerOf(runtime);
    if (provider != null && upstreams.containsKey(provider)) {
      var p = upstreams.get(provider);
      timeout = requestTimeout.compareTo(p.worstCase()) > 0 ? requestTimeout : p.worstCase();
      iso = iso.withEgressTo(java.net.URI.create(p.baseUrl()));
      env = p.environment();
    }
    return new SandboxSettings(javaCommand, options, classpath, workDir, slots, timeout, startTimeout, heartbeat,
        backoffMin, backoffMax, pingInterval, pingTimeout, missedPings, failureWindow, quarantineAfter, probeInterval,
        maxReplyBytes, iso, upstreams, env);
  }

  /** Settings for tests and single-node development: the current JVM's java and classpath. */
  public static SandboxSettings forCurrentJvm(Path workDir) {
    return new SandboxSettings(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            "-Djava.util.concurrent.ForkJoinPool.common.parallelism=2"),
        System.getProperty("java.class.path"), workDir, 4, Duration.ofSeconds(10), Duration.ofSeconds(30),
        Duration.ofSeconds(2), Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofSeconds(1),
        Duration.ofSeconds(2), 3, Duration.ofSeconds(60), 3, Duration.ofSeconds(10), 1024 * 1024,
        SandboxIsolation.probe(new SandboxIsolation.Limits(256, 1.0, 128, 1024, true)), java.util.Map.of(),
        java.util.Map.of());
  }
}
