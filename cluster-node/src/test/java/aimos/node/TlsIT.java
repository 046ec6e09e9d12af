package aimos.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import aimos.cassandra.CassandraLauncher;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLSocket;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real TLS handshakes on every port of a two-node cluster: gateway (gRPC and REST) and management over TLS only,
 * Artery over tls-tcp with mutual authentication (a node with a certificate from another CA never joins), and a
 * certificate rotation under load that fails no request.
 */
class TlsIT {
  private static TestCerts ca;
  private static TestCluster cluster;
  private static String key;

  @BeforeAll
  static void start() throws Exception {
    ca = TestCerts.authority("aimos-test-ca");
    cluster = TestCluster.startTls(2, ca, "");
    key = Http.tenantWithKey(cluster, "tls-tenant", 100_000, 16);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static Http.Reply gateway(HttpClient client, String path) {
    return Http.call(client, "https", "GET", cluster.nodes.get(0).gatewayPort(), path, key, null);
  }

  @Test
  void everyPortSpeaksTlsOnlyAndTheNodesTalkOverMutualTls() {
    for (Main.Node n : cluster.nodes) {
      assertEquals("tls-tcp", n.system().settings().config().getString("pekko.remote.artery.transport"));
    }
    assertEquals(200, gateway(cluster.tlsHttp(), "/v1/models").status());
    Http.textModel(cluster, "tls-echo");
    cluster.awaitWorkerReady("tls-echo", "v1");
    assertEquals("grpc over tls", TestCluster.infer(cluster.client(1), key, "tls-echo", "tls-1", "tls over grpc")
        .getText().getCompletion());

    // plaintext is not served on either port, and a client that does not trust the CA gets no answer
    int gatewayPort = cluster.nodes.get(0).gatewayPort();
    assertThrows(AssertionError.class, () -> Http.call("GET", gatewayPort, "/v1/models", key, null));
    assertThrows(AssertionError.class, () -> Http.call("GET", cluster.managementPort(0), "/ready", null, null));
    assertThrows(AssertionError.class, () -> Http.call(HttpClient.newHttpClient(), "https", "GET", gatewayPort,
        "/v1/models", key, null));
  }

  @Test
  void aNodeWithACertificateFromAnotherCaNeverJoinsWhileOneFromTheClustersCaDoes() throws Exception {
    TestCerts other = TestCerts.authority("intruder-ca");
    // the intruder trusts the cluster's CA (first: Artery's engine reads one certificate from the file) and its
    // certificate names the same subject as the members', so only the members' check of the certificate it presents
    // keeps it out
    java.nio.file.Path both = Files.createTempFile("intruder-trust", ".crt");
    Files.writeString(both, Files.readString(ca.caCert) + Files.readString(other.caCert));
    ActorSystem<Void> intruder = bareNode(other.issue("intruder"), both);
    ActorSystem<Void> legit = null;
    try {
      // started after the intruder, so it had no more time to join than the intruder had
      legit = bareNode(ca.issue("late"), ca.caCert);
      ActorSystem<Void> joined = legit;
      TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(60), () -> {
        assertEquals(MemberStatus.up(), Cluster.get(joined).selfMember().status());
        return null;
      });
      String intruderAddress = intruder.address().toString();
      for (Main.Node n : cluster.nodes) {
        for (var m : Cluster.get(n.system()).state().getMembers()) {
          assertFalse(m.address().toString().equals(intruderAddress), "the intruder is a member");
        }
      }
      assertFalse(Cluster.get(intruder).selfMember().status() == MemberStatus.up());
    } finally {
      intruder.terminate();
      if (legit != null) {
        legit.terminate();
        // it leaves: the cluster is the two nodes again before the next test
        TestProbe.create(cluster.nodes.get(0).system()).awaitAssert(Duration.ofSeconds(60), () -> {
          assertEquals(2, java.util.stream.StreamSupport.stream(Cluster.get(cluster.nodes.get(0).system()).state()
              .getMembers().spliterator(), false).count());
          return null;
        });
      }
    }
  }

  /** A cluster member with no AIMOS services: only remoting, with the TLS settings a node derives from its files. */
  private static ActorSystem<Void> bareNode(TestCerts.Issued cert, java.nio.file.Path trusted) {
    Config config = NodeConfig.load(ConfigFactory.parseString(TestCluster.tlsConfig(cert, trusted) + """
        pekko.remote.artery.canonical.port = %d
        pekko.cluster.seed-nodes = ["%s"]
        pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
        pekko.loglevel = WARNING
        """.formatted(CassandraLauncher.freePort(), cluster.seedAddress())), java.util.Map.of());
    return ActorSystem.create(Behaviors.empty(), "aimos", config);
  }

  @Test
  void aRotatedCertificateIsServedToNewConnectionsAndNoRequestFails() throws Exception {
    TestCerts.Issued current = cluster.nodeCerts.get(0);
    BigInteger before = servedSerial();
    assertEquals(serial(current.cert()), before);

    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger ok = new AtomicInteger();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<?>> load = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      load.add(pool.submit(() -> {
        while (running.get()) {
          // a new client each time: a new connection, so each request makes its own handshake
          try {
            Http.Reply r = gateway(Http.tlsClient(ca.clientContext()), "/v1/models");
            if (r.status() == 200) {
              ok.incrementAndGet();
            } else {
              failures.add(r.status() + " " + r.body());
            }
          } catch (AssertionError e) {
            failures.add(String.valueOf(e.getCause()));
          }
        }
      }));
    }
    TestProbe<Object> probe = TestProbe.create(cluster.nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(30), () -> {
      assertTrue(ok.get() >= 20, "load running: " + ok.get());
      return null;
    });
    int beforeRotation = ok.get();

    // the certificate first, then the key: in between the pair does not match and the node keeps the old one
    TestCerts.Issued next = ca.issue("node0-next");
    Files.move(Files.copy(next.cert(), current.cert().resolveSibling("incoming.crt")), current.cert(),
        StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Files.move(Files.copy(next.key(), current.key().resolveSibling("incoming.key")), current.key(),
        StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    BigInteger rotated = serial(next.cert());
    probe.awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(rotated, servedSerial(), "the new certificate is served");
      return null;
    });
    // management and Artery (mutual TLS between nodes) reload the same files
    probe.awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(rotated, servedSerial(cluster.managementPort(0)), "management serves the new certificate");
      assertEquals(rotated, servedSerial(cluster.arteryPort(0)), "Artery serves the new certificate");
      return null;
    });
    int atRotation = ok.get();
    probe.awaitAssert(Duration.ofSeconds(30), () -> {
      assertTrue(ok.get() >= atRotation + 20, "load goes on after the rotation: " + ok.get());
      return null;
    });
    running.set(false);
    for (Future<?> f : load) {
      f.get();
    }
    pool.shutdown();
    assertTrue(beforeRotation > 0 && ok.get() > atRotation);
    assertEquals(List.of(), List.copyOf(failures), "requests that failed during the rotation");
  }

  private static BigInteger serial(Path cert) throws Exception {
    return aimos.node.tls.PemTls.certificates(cert).get(0).getSerialNumber();
  }

  /** The serial of the certificate node 0's gateway presents to a new connection. */
  private static BigInteger servedSerial() throws Exception {
    return servedSerial(cluster.nodes.get(0).gatewayPort());
  }

  /**
   * The serial of the certificate a port presents to a new connection, as the client's trust check sees it: Artery
   * then asks for a client certificate this client does not have, so the handshake may fail after that check.
   */
  private static BigInteger servedSerial(int port) throws Exception {
    var caTrust = java.security.KeyStore.getInstance("PKCS12");
    caTrust.load(null, null);
    caTrust.setCertificateEntry("ca", aimos.node.tls.PemTls.certificates(ca.caCert).get(0));
    var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(caTrust);
    var trust = (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0];
    var served = new java.util.concurrent.atomic.AtomicReference<X509Certificate>();
    var recording = new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {
        throw new UnsupportedOperationException("a client");
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType)
          throws java.security.cert.CertificateException {
        trust.checkServerTrusted(chain, authType);
        served.set(chain[0]);
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return trust.getAcceptedIssuers();
      }
    };
    javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
    context.init(null, new javax.net.ssl.TrustManager[] {recording}, null);
    try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.startHandshake();
    } catch (javax.net.ssl.SSLException e) {
      if (served.get() == null) {
        throw e;
      }
    }
    return served.get().getSerialNumber();
  }
}
