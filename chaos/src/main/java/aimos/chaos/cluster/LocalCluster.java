package aimos.chaos.cluster;

import aimos.chaos.tls.ClientTls;
import aimos.chaos.tls.LocalCa;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Consumer;

/**
 * AIMOS node processes on this host sharing one Cassandra: what {@code bin/aimos cluster} starts and what node drills
 * kill, restart and cut off. Node {@code i} (1-based) uses {@code local<i>.conf}: gateway 808i, management 856i,
 * remoting 2552i. On loopback all nodes share 127.0.0.1; with network namespaces each node is a host of its own
 * ({@code 10.x.y.1i}) behind a bridge ({@code 10.x.y.1}, where Cassandra listens), so that the links between nodes can
 * be cut for real. The layout is kept in {@code cluster.properties} in the cluster's directory, with pid and log files.
 */
public final class LocalCluster {
  public static final int MAX_NODES = 5;
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Where and how the cluster runs. {@code netnsPrefix} names its namespaces, bridge and links (null: loopback);
   * {@code subnet} is the first three octets of the bridge's /24. {@code cassandra} is the contact point as nodes
   * see it; {@code jvmOptions} go to every node (heap, extra -D settings).
   */
  public record Layout(Path dir, int size, String netnsPrefix, String subnet, String java, String classpath,
                       List<String> jvmOptions, String cassandra) {
    public Layout {
      if (size < 1 || size > MAX_NODES) {
        throw new IllegalArgumentException("a local cluster has 1 to " + MAX_NODES + " nodes (local1.conf .. local"
            + MAX_NODES + ".conf), not " + size);
      }
      if (netnsPrefix != null && netnsPrefix.length() > 8) {
        throw new IllegalArgumentException("the namespace prefix must be at most 8 characters, was " + netnsPrefix);
      }
    }

    public boolean netns() {
      return netnsPrefix != null;
    }

    public String host(int node) {
      return netns() ? subnet + "." + (10 + node) : "127.0.0.1";
    }

    public String bridgeAddress() {
      return subnet + ".1";
    }
  }

  private final Layout layout;
  private final Consumer<String> progress;
  private final List<String[]> cuts = new ArrayList<>();
  private LocalCa.Issued tls;
  private ClientTls clientTls = ClientTls.PLAINTEXT;
  private HttpClient http = newHttp();

  public LocalCluster(Layout layout, Consumer<String> progress) {
    this.layout = layout;
    this.progress = progress;
  }

  public Layout layout() {
    return layout;
  }

  /**
   * Nodes started from now on serve TLS on every port with this certificate (Artery with mutual authentication
   * against its CA), and this cluster's probes and clients trust that CA; {@link #save} records it.
   */
  public synchronized void useTls(LocalCa.Issued issued) {
    this.tls = issued;
    this.clientTls = ClientTls.trusting(issued.caCertificate());
    this.http = newHttp();
  }

  /** TLS trusting the cluster's CA, or plaintext: how clients reach its nodes. */
  public synchronized ClientTls clientTls() {
    return clientTls;
  }

  /** The addresses a node certificate of this layout must name, besides localhost and 127.0.0.1. */
  public List<String> hostNames() {
    List<String> hosts = new ArrayList<>();
    for (int i = 1; i <= MAX_NODES && layout.netns(); i++) {
      hosts.add(layout.host(i));
    }
    return hosts;
  }

  private HttpClient newHttp() {
    return (clientTls == null ? ClientTls.PLAINTEXT : clientTls).httpClient()
        .connectTimeout(Duration.ofSeconds(2)).build();
  }

  public int size() {
    return layout.size();
  }

  public String gateway(int node) {
    return layout.host(node) + ":" + (8080 + node);
  }

  public String management(int node) {
    return layout.host(node) + ":" + (8560 + node);
  }

  public String remoting(int node) {
    return "pekko://aimos@" + layout.host(node) + ":" + (25520 + node);
  }

  /** The node whose remoting address this is, if any. */
  public Optional<Integer> nodeAt(String address) {
    for (int i = 1; i <= size(); i++) {
      if (remoting(i).equals(address)) {
        return Optional.of(i);
      }
    }
    return Optional.empty();
  }

  /** The cluster's bootstrap admin token: AIMOS_ADMIN_TOKEN, else the one made on first start ({@link #tokensFile}). */
  public String adminToken() {
    return token("AIMOS_ADMIN_TOKEN");
  }

  /** The cluster's secops token: AIMOS_SECOPS_TOKEN, else the one made on first start. */
  public String secopsToken() {
    return token("AIMOS_SECOPS_TOKEN");
  }

  /** Where the tokens made on first start are kept (owner-only), in the form {@code NAME=value} a shell can source. */
  public Path tokensFile() {
    return layout.dir().resolve("tokens.env");
  }

  private synchronized String token(String name) {
    String fromEnv = System.getenv(name);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    try {
      java.util.Properties p = new java.util.Properties();
      if (Files.exists(tokensFile())) {
        try (var in = Files.newBufferedReader(tokensFile())) {
          p.load(in);
        }
      }
      if (p.getProperty("AIMOS_ADMIN_TOKEN") == null || p.getProperty("AIMOS_SECOPS_TOKEN") == null) {
        p.setProperty("AIMOS_ADMIN_TOKEN", randomToken());
        p.setProperty("AIMOS_SECOPS_TOKEN", randomToken());
        aimos.chaos.cli.Secrets.writePrivate(tokensFile(), "AIMOS_ADMIN_TOKEN=" + p.getProperty("AIMOS_ADMIN_TOKEN")
            + "\nAIMOS_SECOPS_TOKEN=" + p.getProperty("AIMOS_SECOPS_TOKEN") + "\n");
      }
      return p.getProperty(name);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write " + tokensFile() + ": " + e.getMessage(), e);
    }
  }

  private static String randomToken() {
    byte[] b = new byte[32];
    new java.security.SecureRandom().nextBytes(b);
    return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  public Path log(int node) {
    return layout.dir().resolve("node" + node + ".log");
  }

  // ---- the cluster's directory ----

  public void save() {
    Properties p = new Properties();
    p.setProperty("size", Integer.toString(layout.size()));
    if (layout.netns()) {
      p.setProperty("netns-prefix", layout.netnsPrefix());
      p.setProperty("subnet", layout.subnet());
    }
    p.setProperty("java", layout.java());
    p.setProperty("classpath", layout.classpath());
    p.setProperty("jvm-options", String.join("\n", layout.jvmOptions()));
    p.setProperty("cassandra", layout.cassandra());
    if (tls != null) {
      p.setProperty("tls-ca-file", tls.caCertificate().toString());
      p.setProperty("tls-certificate-file", tls.certificate().toString());
      p.setProperty("tls-private-key-file", tls.privateKey().toString());
      p.setProperty("tls-not-after", tls.notAfter().toString());
    }
    try (var out = Files.newBufferedWriter(layout.dir().resolve("cluster.properties"))) {
      p.store(out, "bin/aimos cluster");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The cluster last started in {@code dir}, if any. */
  public static Optional<LocalCluster> open(Path dir, Consumer<String> progress) {
    Path file = dir.resolve("cluster.properties");
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    Properties p = new Properties();
    try (var in = Files.newBufferedReader(file)) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String options = p.getProperty("jvm-options", "");
    LocalCluster cluster = new LocalCluster(new Layout(dir, Integer.parseInt(p.getProperty("size")),
        p.getProperty("netns-prefix"), p.getProperty("subnet"), p.getProperty("java"), p.getProperty("classpath"),
        options.isEmpty() ? List.of() : Arrays.asList(options.split("\n")), p.getProperty("cassandra")), progress);
    if (p.getProperty("tls-ca-file") != null) {
      Path ca = Path.of(p.getProperty("tls-ca-file"));
      cluster.useTls(new LocalCa.Issued(ca.getParent(), ca, Path.of(p.getProperty("tls-certificate-file")),
          Path.of(p.getProperty("tls-private-key-file")), java.time.Instant.parse(p.getProperty("tls-not-after")),
          "recorded"));
    }
    return Optional.of(cluster);
  }

  // ---- network namespaces ----

  private String namespace(int node) {
    return layout.netnsPrefix() + "-n" + node;
  }

  /** Creates the bridge and one namespace per node (removing leftovers of an earlier run first). */
  public void createNetwork() {
    if (!layout.netns()) {
      return;
    }
    removeNetwork();
    String bridge = layout.netnsPrefix() + "br";
    ip("link", "add", bridge, "type", "bridge");
    ip("addr", "add", layout.bridgeAddress() + "/24", "dev", bridge);
    ip("link", "set", bridge, "up");
    for (int i = 1; i <= size(); i++) {
      String veth = layout.netnsPrefix() + "v" + i;
      ip("netns", "add", namespace(i));
      ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace(i));
      ip("link", "set", veth, "master", bridge, "up");
      ip("-n", namespace(i), "addr", "add", layout.host(i) + "/24", "dev", "eth0");
      ip("-n", namespace(i), "link", "set", "eth0", "up");
      ip("-n", namespace(i), "link", "set", "lo", "up");
    }
    progress.accept("network: bridge " + bridge + " " + layout.bridgeAddress() + "/24, nodes in namespaces "
        + namespace(1) + ".." + namespace(size()));
  }

  public void removeNetwork() {
    if (!layout.netns()) {
      return;
    }
    for (int i = 1; i <= MAX_NODES; i++) {
      run(false, "ip", "netns", "del", namespace(i));
    }
    run(false, "ip", "link", "del", layout.netnsPrefix() + "br");
  }

  /** Cuts every link between {@code node} and the other nodes, both ways; Cassandra stays reachable to all. */
  public void isolate(int node) {
    if (!layout.netns()) {
      throw new UnsupportedOperationException("cutting a node off needs a cluster in network namespaces: "
          + "'bin/aimos cluster up --netns' (as root)");
    }
    for (int j = 1; j <= size(); j++) {
      if (j != node) {
        cut(namespace(node), layout.host(j));
        cut(namespace(j), layout.host(node));
      }
    }
  }

  private void cut(String namespace, String address) {
    ip("-n", namespace, "route", "add", "blackhole", address + "/32");
    cuts.add(new String[] {namespace, address});
  }

  /** Restores every link cut by {@link #isolate}. */
  public void heal() {
    for (String[] c : cuts) {
      run(false, "ip", "-n", c[0], "route", "del", "blackhole", c[1] + "/32");
    }
    cuts.clear();
  }

  private static void ip(String... args) {
    String[] cmd = new String[args.length + 1];
    cmd[0] = "ip";
    System.arraycopy(args, 0, cmd, 1, args.length);
    run(true, cmd);
  }

  private static void run(boolean check, String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0 && check) {
        throw new IllegalStateException("'" + String.join(" ", cmd) + "' failed: " + out.strip()
            + (out.contains("Operation not permitted") ? " (network namespaces need root)" : ""));
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run '" + String.join(" ", cmd) + "': " + e.getMessage()
          + " (network namespaces need iproute2's 'ip')", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }

  // ---- processes ----

  private Path pidFile(String name) {
    return layout.dir().resolve(name + ".pid");
  }

  public Optional<Long> pid(int node) {
    return pidOf("node" + node);
  }

  private Optional<Long> pidOf(String name) {
    try {
      Path f = pidFile(name);
      return Files.exists(f) ? Optional.of(Long.parseLong(Files.readString(f).strip())) : Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  public boolean isAlive(int node) {
    return pid(node).flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
  }

  /** Starts node {@code i}'s process (detached: it outlives this program) and returns its pid. */
  public long start(int node) {
    if (isAlive(node)) {
      throw new IllegalStateException("node " + node + " is already running (pid " + pid(node).orElseThrow() + ")");
    }
    List<String> cmd = new ArrayList<>(List.of("setsid"));
    if (layout.netns()) {
      cmd.addAll(List.of("ip", "netns", "exec", namespace(node)));
    }
    cmd.add(layout.java());
    cmd.add("-Djava.util.concurrent.ForkJoinPool.common.parallelism=4");
    cmd.addAll(layout.jvmOptions());
    cmd.add("-Dconfig.resource=local" + node + ".conf");
    cmd.addAll(List.of("-cp", layout.classpath(), "aimos.node.Main"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log(node).toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Map<String, String> env = pb.environment();
    env.put("AIMOS_SANDBOX_DIR", layout.dir().resolve("node" + node).resolve("sandboxes").toString());
    env.put("AIMOS_CASSANDRA_CONTACT_POINTS", layout.cassandra());
    env.put("AIMOS_ADMIN_TOKEN", adminToken());
    env.put("AIMOS_SECOPS_TOKEN", secopsToken());
    LocalCa.Issued files;
    synchronized (this) {
      files = tls;
    }
    if (files != null) {
      env.put("AIMOS_TLS_CERT_FILE", files.certificate().toString());
      env.put("AIMOS_TLS_KEY_FILE", files.privateKey().toString());
      env.put("AIMOS_TLS_CA_FILE", files.caCertificate().toString());
    } else {
      // a plaintext cluster: TLS settings of the calling shell would make nodes its probes cannot read
      env.remove("AIMOS_TLS_CERT_FILE");
      env.remove("AIMOS_TLS_KEY_FILE");
      env.remove("AIMOS_TLS_CA_FILE");
    }
    env.put("AIMOS_AUDIT_SIGNING_KEY_FILE",
        aimos.access.audit.AuditChain.ensureSigningKey(layout.dir().resolve("audit-signing-key.pem")).toString());
    if (layout.netns()) {
      String host = layout.host(node);
      env.put("AIMOS_CLUSTER_HOST", host);
      env.put("AIMOS_GATEWAY_HOST", host);
      env.put("AIMOS_MANAGEMENT_HOST", host);
    }
    List<String> running = java.util.stream.IntStream.rangeClosed(1, size()).filter(i -> i != node && isAlive(i))
        .mapToObj(this::remoting).toList();
    if (!running.isEmpty()) {
      // a node listed first forms a cluster of its own when no other seed answers within seed-node-timeout (a slow
      // TLS handshake with a node still busy after a fault is enough): started while others run, a node lists them
      // first, so it only ever joins them
      env.put("AIMOS_SEED_NODES", String.join(",", running) + "," + remoting(node));
    } else if (layout.netns()) {
      env.put("AIMOS_SEED_NODES", remoting(1) + "," + remoting(Math.min(2, size())));
    }
    try {
      Process p = pb.start();
      Files.writeString(pidFile("node" + node), Long.toString(p.pid()));
      return p.pid();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start node " + node + ": " + e.getMessage(), e);
    }
  }

  /** Starts every node, then waits until each is ready and all are Up in one cluster. */
  public void startAll(Duration timeout) {
    for (int i = 1; i <= size(); i++) {
      progress.accept("Starting node " + i + " (gateway " + gateway(i) + ", management " + management(i) + ", log "
          + log(i) + ")...");
      start(i);
    }
    for (int i = 1; i <= size(); i++) {
      progress.accept("Waiting for node " + i + " to be ready...");
      awaitReady(i, timeout);
    }
    awaitAllUp(Duration.ofMinutes(1));
  }

  /** kill -9: the node gets no chance to leave. */
  public void kill(int node) {
    pid(node).flatMap(ProcessHandle::of).ifPresent(ProcessHandle::destroyForcibly);
    awaitExit(node, Duration.ofSeconds(10));
  }

  /** SIGSTOP: the node is frozen, as a long garbage-collection pause freezes it; {@link #resume} thaws it. */
  public void pause(int node) {
    signal(node, "STOP");
  }

  public void resume(int node) {
    signal(node, "CONT");
  }

  private void signal(int node, String signal) {
    signal(signal, pid(node).orElseThrow(() -> new IllegalStateException("node " + node + " is not running")));
  }

  /** kill -SIGNAL pid (STOP, CONT, ...): freezes and thaws a node or the Cassandra process. */
  public static void signal(String signal, long pid) {
    try {
      Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
      if (p.waitFor() != 0) {
        throw new IllegalStateException("kill -" + signal + " " + pid + " failed");
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot signal pid " + pid + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGTERM: the node leaves the cluster, hands its shards over and exits; killed if it takes over a minute. */
  public boolean stop(int node) {
    Optional<ProcessHandle> p = pid(node).flatMap(ProcessHandle::of);
    if (p.isEmpty() || !p.get().isAlive()) {
      return true;
    }
    p.get().destroy();
    if (awaitExit(node, Duration.ofSeconds(60))) {
      return true;
    }
    p.get().destroyForcibly();
    awaitExit(node, Duration.ofSeconds(10));
    return false;
  }

  public boolean awaitExit(int node, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (isAlive(node)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      sleep(100);
    }
    return true;
  }

  /** Waits for the node's /ready; fails with the end of its log if the process dies or the time runs out. */
  public void awaitReady(int node, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!ready(node)) {
      if (!isAlive(node)) {
        throw new IllegalStateException("node " + node + " stopped; last lines of " + log(node) + ":\n" + tail(log(node)));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("node " + node + " not ready after " + timeout.toSeconds() + " s; last lines of "
            + log(node) + ":\n" + tail(log(node)));
      }
      sleep(250);
    }
  }

  public boolean ready(int node) {
    return get(clientTls().url(management(node), "/ready")).map(r -> r.statusCode() == 200).orElse(false);
  }

  /**
   * Members as a live node sees them: address to status ("Up", "Leaving", "Down", ...); "unreachable" marks those
   * that are unreachable and not yet Down.
   */
  public Optional<Map<String, String>> members(int viewer) {
    return get(clientTls().url(management(viewer), "/cluster/members")).filter(r -> r.statusCode() == 200).map(r -> {
      try {
        JsonNode json = JSON.readTree(r.body());
        Map<String, String> m = new java.util.TreeMap<>();
        json.path("members").forEach(n -> m.put(n.get("node").asText(), n.get("status").asText()));
        json.path("unreachable").forEach(n -> m.computeIfPresent(n.get("node").asText(),
            (node, status) -> status.equals("Down") ? status : "unreachable"));
        return m;
      } catch (IOException e) {
        return null;
      }
    });
  }

  /** Waits until a live node sees all {@code size()} nodes Up and none unreachable. */
  public void awaitAllUp(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, String> last = Map.of();
    while (System.nanoTime() < deadline) {
      for (int i = 1; i <= size(); i++) {
        Optional<Map<String, String>> m = members(i);
        if (m.isPresent()) {
          last = m.get();
          if (last.size() == size() && last.values().stream().allMatch("Up"::equals)) {
            return;
          }
          break;
        }
      }
      sleep(250);
    }
    throw new IllegalStateException("the cluster did not have all " + size() + " nodes Up within "
        + timeout.toSeconds() + " s; members: " + last);
  }

  // ---- Cassandra ----

  public Optional<Long> cassandraLauncherPid() {
    return pidOf("cassandra");
  }

  /** Starts Cassandra for the cluster (CQL on {@code port}) and waits until it answers. */
  public void startCassandra(int port, int storagePort) {
    Path logFile = layout.dir().resolve("cassandra.log");
    List<String> cmd = new ArrayList<>(List.of("setsid", layout.java(),
        "-Djava.util.concurrent.ForkJoinPool.common.parallelism=4", "-cp", layout.classpath(),
        "aimos.cassandra.CassandraMain", layout.dir().resolve("cassandra").toString(), Integer.toString(port),
        Integer.toString(storagePort), layout.netns() ? "0.0.0.0" : "127.0.0.1"));
    try {
      Files.deleteIfExists(logFile);
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      Files.writeString(pidFile("cassandra"), Long.toString(p.pid()));
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      while (!Files.readString(logFile).contains("Cassandra is up")) {
        if (!p.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("Cassandra did not start; see " + logFile + ":\n" + tail(logFile));
        }
        sleep(500);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start Cassandra: " + e.getMessage(), e);
    }
  }

  public void stopCassandra() {
    pidOf("cassandra").flatMap(ProcessHandle::of).ifPresent(p -> {
      p.destroy();
      p.onExit().orTimeout(120, java.util.concurrent.TimeUnit.SECONDS).exceptionally(e -> null).join();
    });
    try {
      Files.deleteIfExists(pidFile("cassandra"));
    } catch (IOException ignored) {
      // the pid file is only a hint
    }
  }

  // ---- helpers ----

  private Optional<HttpResponse<String>> get(String url) {
    HttpClient client;
    synchronized (this) {
      client = http;
    }
    try {
      return Optional.of(client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(3)).build(),
          HttpResponse.BodyHandlers.ofString()));
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Sleeps, turning an interrupt into an IllegalStateException (drill steps are not interruptible). */
  public static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }
}
