package aimos.model.sandbox;

/**
 * The shapes that worker messages had before they gained components, as nodes of that version write and read them
 * ({@code aimos.serialization.kryo.evolved}). Never change these records.
 */
public final class WorkerMessagesV1 {
  private WorkerMessagesV1() {}

  public record Failed(Worker.FailureKind kind, String message) {}
}
