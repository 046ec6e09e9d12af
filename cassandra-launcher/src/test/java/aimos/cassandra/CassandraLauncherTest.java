package aimos.cassandra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CassandraLauncherTest {

  @Test
  void startsCassandraThatAnswersTheNativeProtocol() throws Exception {
    int port = SharedCassandra.port();
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      // native protocol v4 OPTIONS frame: version, flags, stream, opcode 0x05, empty body
      out.write(new byte[] {0x04, 0x00, 0x00, 0x01, 0x05, 0, 0, 0, 0});
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      byte version = in.readByte();
      in.readByte();
      in.readShort();
      byte opcode = in.readByte();
      assertEquals((byte) 0x84, version, "response frame of protocol v4");
      assertEquals((byte) 0x06, opcode, "SUPPORTED answers OPTIONS");
    }
  }

  @Test
  void refusesAPortThatIsTakenAndSaysWhatToDo(@TempDir Path dir) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      var settings = CassandraLauncher.Settings.defaults(dir).withPorts(taken.getLocalPort(), CassandraLauncher.freePort());
      var e = assertThrows(IllegalStateException.class, () -> CassandraLauncher.start(settings));
      assertTrue(e.getMessage().contains("already in use"), e.getMessage());
      assertTrue(e.getMessage().contains(String.valueOf(taken.getLocalPort())), e.getMessage());
      assertTrue(e.getMessage().contains("AIMOS_CASSANDRA_PORT"), e.getMessage());
    }
  }

  @Test
  void refusesAJavaItCannotRunOn(@TempDir Path dir) throws Exception {
    Path fakeJdk = dir.resolve("jdk25");
    Files.createDirectories(fakeJdk.resolve("bin"));
    Files.writeString(fakeJdk.resolve("release"), "JAVA_VERSION=\"25.0.1\"\n");
    var settings = new CassandraLauncher.Settings(dir.resolve("data"), "127.0.0.1", CassandraLauncher.freePort(),
        CassandraLauncher.freePort(), "1g", fakeJdk, java.time.Duration.ofSeconds(5));
    var e = assertThrows(IllegalStateException.class, () -> CassandraLauncher.start(settings));
    assertTrue(e.getMessage().contains("Java 25"), e.getMessage());
    assertTrue(e.getMessage().contains("AIMOS_CASSANDRA_JAVA_HOME"), e.getMessage());
  }

  @Test
  void writesLoginAndRequiredClientTlsIntoTheConfigurationOnlyWhenAskedTo(@TempDir Path dir) throws Exception {
    var open = CassandraLauncher.Settings.defaults(dir);
    String openYaml = CassandraLauncher.yaml(open, dir);
    assertTrue(openYaml.contains("authenticator: AllowAllAuthenticator"), openYaml);
    assertFalse(openYaml.contains("client_encryption_options"), openYaml);

    Path keystore = Files.writeString(dir.resolve("server.p12"), "not read here");
    var tls = new CassandraLauncher.ClientTls(keystore, "it's secret");
    assertFalse(tls.toString().contains("secret"), tls.toString());
    String secured = CassandraLauncher.yaml(open.withPasswordAuthentication().withClientTls(tls), dir);
    assertTrue(secured.contains("authenticator: PasswordAuthenticator\nauthorizer: CassandraAuthorizer\n"), secured);
    assertTrue(secured.contains("client_encryption_options:\n  enabled: true\n  optional: false\n"), secured);
    assertTrue(secured.contains("keystore_password: 'it''s secret'"), secured);
    assertTrue(secured.contains("\nendpoint_snitch: SimpleSnitch\n"), secured);

    var missing = assertThrows(IllegalArgumentException.class,
        () -> new CassandraLauncher.ClientTls(dir.resolve("none.p12"), "x"));
    assertTrue(missing.getMessage().contains("none.p12"), missing.getMessage());
  }

  @Test
  void onlyADisposableServerSkipsFsyncAndSchemaFlushes(@TempDir Path dir) throws Exception {
    var durable = CassandraLauncher.Settings.defaults(dir);
    List<String> kept = CassandraLauncher.systemProperties(durable, dir, dir.resolve("c.yaml"), dir.resolve("l.xml"));
    assertFalse(kept.stream().anyMatch(p -> p.contains("skip_sync") || p.contains("flush_local_schema")), kept.toString());
    List<String> thrown = CassandraLauncher.systemProperties(durable.asDisposable(), dir, dir.resolve("c.yaml"),
        dir.resolve("l.xml"));
    assertTrue(thrown.containsAll(List.of("-Dcassandra.skip_sync=true",
        "-Dcassandra.test.flush_local_schema_changes=false")), thrown.toString());
    // the tests' shared server is the disposable kind, and the flags reach its process
    List<String> shared = List.of(new String(Files.readAllBytes(Path.of("/proc", Long.toString(
        SharedCassandra.launcher().pid()), "cmdline")), java.nio.charset.StandardCharsets.UTF_8).split("\0"));
    assertTrue(shared.contains("-Dcassandra.skip_sync=true"), shared.toString());
  }

  @Test
  void readsJavaVersionsFromReleaseFiles(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("release"), "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"1.8.0_392\"\n");
    assertEquals(8, CassandraLauncher.javaFeatureVersion(dir));
    Files.writeString(dir.resolve("release"), "JAVA_VERSION=\"17.0.15\"\n");
    assertEquals(17, CassandraLauncher.javaFeatureVersion(dir));
  }
}
