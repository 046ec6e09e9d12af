package aimos.model.sandbox;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How this node runs sandboxes: the launch command, the slots (concurrent requests) of each worker, deadlines,
 * heartbeat and restart backoff.
 */
public record SandboxSettings(String javaCommand, List<String> jvmOptions, String classpath, Path workDir, int slots,
                              Duration requestTimeout, Duration startTimeout, Duration heartbeat,
                              Duration backoffMin, Duration backoffMax) {

  public SandboxProcess.LaunchSpec launchSpec(Path dir) {
    return new SandboxProcess.LaunchSpec(javaCommand, jvmOptions, classpath, dir);
  }

  /** Settings for tests and single-node development: the current JVM's java and classpath. */
  public static SandboxSettings forCurrentJvm(Path workDir) {
    return new SandboxSettings(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            "-Djava.util.concurrent.ForkJoinPool.common.parallelism=2"),
        System.getProperty("java.class.path"), workDir, 4, Duration.ofSeconds(10), Duration.ofSeconds(30),
        Duration.ofSeconds(2), Duration.ofMillis(200), Duration.ofSeconds(10));
  }
}
