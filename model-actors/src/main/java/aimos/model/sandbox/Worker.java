package aimos.model.sandbox;

import aimos.serialization.KryoSerializable;
import org.apache.pekko.actor.typed.ActorRef;

/** The protocol of a worker: a supervised sandbox process serving one model version on some node. */
public final class Worker {
  private Worker() {}

  /** Messages a worker takes; the supervisor adds private ones of its own. */
  public interface Command extends KryoSerializable {}

  /**
   * Runs one text job. The reply is a {@link Completed} or a {@link Failed}. With {@code stream} set, the pieces of
   * the completion go there as {@link Chunk}s while the model produces them, then a {@link StreamEnd}, before the
   * reply.
   */
  public record Run(String requestId, Job job, ActorRef<Result> replyTo, ActorRef<Streamed> stream)
      implements Command {
    public Run(String requestId, String prompt, int maxTokens, ActorRef<Result> replyTo) {
      this(requestId, new TextJob(prompt, maxTokens), replyTo, null);
    }
  }

  /** What a worker is asked to do: one kind per input the API takes. */
  public sealed interface Job extends KryoSerializable {}

  public record TextJob(String prompt, int maxTokens) implements Job {}

  public record EmbedJob(java.util.List<String> inputs) implements Job {}

  public record ImageJob(byte[] data) implements Job {}

  public record AudioJob(byte[] data, String grammar) implements Job {}

  /** What a streamed run sends while it runs. */
  public sealed interface Streamed extends KryoSerializable {}

  public record Chunk(String text) implements Streamed {}

  public record StreamEnd() implements Streamed {}

  /** Security drills: the next {@code count} requests misbehave as {@code fault} says. */
  public record InjectFault(aimos.internal.sandbox.Fault fault, int count, int delayMillis) implements Command {}

  public sealed interface Result extends KryoSerializable {}

  public record Completed(String completion, long promptTokens, long completionTokens) implements Result {}

  /** One vector per input; {@code tokens} of all inputs. */
  public record Embedded(java.util.List<float[]> vectors, long tokens) implements Result {}

  /** What a vision model saw in one image: labels best first (classifiers), or text and its confidence (OCR). */
  public record Seen(java.util.List<Label> labels, String text, double confidence) implements Result {}

  public record Label(String label, double score) implements KryoSerializable {}

  /** The text heard in the audio, and the audio's decoded duration. */
  public record Transcribed(String text, long audioMillis) implements Result {}

  /**
   * A request the model did not answer. {@code incident} names the event that failed it when that event failed
   * other requests too (a sandbox process that died or hung: every request in it fails with the same incident), so
   * that the failure is counted once; empty for a failure of this request alone.
   */
  public record Failed(FailureKind kind, String message, String incident) implements Result {
    public Failed(FailureKind kind, String message) {
      this(kind, message, "");
    }
  }

  public enum FailureKind {
    /** The model refused this input: the caller should fix it. */
    INVALID_INPUT,
    /** The sandbox failed while running it (crash, garbage output). */
    MODEL_ERROR,
    /** The sandbox is not running right now (starting or restarting). */
    UNAVAILABLE,
    /** The sandbox did not answer within the request deadline. */
    DEADLINE
  }
}
