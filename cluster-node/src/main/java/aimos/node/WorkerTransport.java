package aimos.node;

import com.typesafe.config.Config;
import java.util.List;

/**
 * Keeps the gateway's input limits and Artery's large-message lane consistent: every input the gateway accepts must
 * fit in one frame to a sandbox supervisor on another node, and every result a sandbox may return must fit in one
 * frame back. Artery drops a message over the frame size (and only logs it), so the caller would wait for its
 * timeout; a node whose limits do not fit refuses to start instead.
 */
public final class WorkerTransport {
  /** Where Worker.Run goes (the sandbox supervisors) and where its result goes (the gateway's ask). */
  static final List<String> DESTINATIONS = List.of("/system/worker-host/sandbox-*", "/temp/sandbox-*");
  /** Longest audio grammar the gateway takes, in characters. */
  static final long MAX_GRAMMAR_CHARS = 65_536;
  /** Embedding inputs per request the gateway takes. */
  static final long MAX_EMBEDDING_INPUTS = 256;
  /** Request id, actor references, class manifest and Artery's envelope header, with room to spare. */
  static final long OVERHEAD = 64 * 1024;

  private WorkerTransport() {}

  /** The largest Worker message, serialized, that the limits in {@code config} allow. */
  public static long largestMessage(Config config) {
    long image = config.getBytes("aimos.gateway.max-image-bytes");
    // Kryo writes a char in at most 3 bytes (UTF-8 of the char itself, surrogates one by one)
    long promptBytes = 3 * config.getLong("aimos.gateway.max-prompt-chars");
    long audio = 2 * image + 3 * MAX_GRAMMAR_CHARS;
    long embeddings = promptBytes + 5 * MAX_EMBEDDING_INPUTS;
    // a result is at most a sandbox reply frame; its strings may take up to 1.5 times their protobuf size in Kryo
    long result = config.getBytes("aimos.sandbox.max-reply-bytes") * 3 / 2;
    return Math.max(Math.max(image, audio), Math.max(Math.max(promptBytes, embeddings), result)) + OVERHEAD;
  }

  /** Throws if a Worker message the limits allow could not reach a sandbox (or its caller) on another node. */
  public static void check(Config config) {
    Config artery = config.getConfig("pekko.remote.artery");
    List<String> lanes = artery.getStringList("large-message-destinations");
    if (!lanes.containsAll(DESTINATIONS)) {
      throw new IllegalArgumentException("pekko.remote.artery.large-message-destinations must include "
          + DESTINATIONS + " (the sandbox supervisors and the asks to them), was " + lanes);
    }
    long frame = artery.getBytes("advanced.maximum-large-frame-size");
    long needed = largestMessage(config);
    if (frame < needed) {
      throw new IllegalArgumentException("pekko.remote.artery.advanced.maximum-large-frame-size is " + frame
          + " bytes, but the gateway's limits (aimos.gateway.max-image-bytes, audio twice that, max-prompt-chars, "
          + "aimos.sandbox.max-reply-bytes) allow Worker messages of up to " + needed + " bytes: raise it "
          + "(AIMOS_MAX_LARGE_FRAME_SIZE) or lower the limits");
    }
  }
}
