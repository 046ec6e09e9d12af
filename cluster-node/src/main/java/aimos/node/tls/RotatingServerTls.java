package aimos.node.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server TLS identity from PEM files that follows their rotation without a restart: each new connection takes the
 * newest context, and the files are looked at again (modification times and sizes) at most once per
 * {@code checkInterval}. A new pair that does not load (half written, or key and certificate that do not match) is
 * logged and the previous identity kept; connections already open keep theirs.
 */
public final class RotatingServerTls {
  private static final Logger log = LoggerFactory.getLogger(RotatingServerTls.class);

  private final PemTls.PemFiles files;
  private final boolean requireClientCertificate;
  private final long checkIntervalNanos;
  private final LongSupplier nanoTime;
  private volatile SSLContext context;
  private volatile List<Long> stamp;
  private volatile long checkedAt;

  /** Loads the identity now: a node with TLS configured does not start without a valid one. */
  public RotatingServerTls(PemTls.PemFiles files, boolean requireClientCertificate, Duration checkInterval,
                           LongSupplier nanoTime) throws IOException, GeneralSecurityException {
    this.files = files;
    this.requireClientCertificate = requireClientCertificate;
    this.checkIntervalNanos = checkInterval.toNanos();
    this.nanoTime = nanoTime;
    this.stamp = stamp();
    this.context = PemTls.context(files);
    this.checkedAt = nanoTime.getAsLong();
    if (requireClientCertificate && files.caFile().isEmpty()) {
      throw new IllegalArgumentException("client certificates are required but no CA file is set to check them");
    }
  }

  private List<Long> stamp() throws IOException {
    List<Long> s = new ArrayList<>();
    for (Path p : files.caFile().isPresent()
        ? List.of(files.certificateFile(), files.privateKeyFile(), files.caFile().get())
        : List.of(files.certificateFile(), files.privateKeyFile())) {
      s.add(Files.getLastModifiedTime(p).toMillis());
      s.add(Files.size(p));
    }
    return s;
  }

  /** The context new connections get now. */
  public SSLContext current() {
    long now = nanoTime.getAsLong();
    if (now - checkedAt >= checkIntervalNanos) {
      synchronized (this) {
        if (now - checkedAt >= checkIntervalNanos) {
          checkedAt = now;
          reloadIfChanged();
        }
      }
    }
    return context;
  }

  private void reloadIfChanged() {
    try {
      List<Long> s = stamp();
      if (s.equals(stamp)) {
        return;
      }
      SSLContext fresh = PemTls.context(files);
      context = fresh;
      stamp = s;
      log.info("TLS identity reloaded from {}", files.certificateFile());
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      log.warn("TLS files changed but do not load ({}); keeping the previous identity until they do",
          e.getMessage());
    }
  }

  public SSLEngine newEngine() {
    SSLEngine engine = current().createSSLEngine();
    engine.setUseClientMode(false);
    if (requireClientCertificate) {
      engine.setNeedClientAuth(true);
    }
    return engine;
  }

  /** For pekko-http servers: a new engine from the newest identity per connection. */
  public HttpsConnectionContext connectionContext() {
    return ConnectionContext.httpsServer(this::newEngine);
  }
}
