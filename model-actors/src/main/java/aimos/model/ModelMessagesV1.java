package aimos.model;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * The shapes that model messages had before they gained components, as nodes of that version write and read them
 * ({@code aimos.serialization.kryo.evolved}). Never change these records.
 */
public final class ModelMessagesV1 {
  private ModelMessagesV1() {}

  public record AcquireLease(String version, String tenantId, ActorRef<ModelEntity.LeaseResult> replyTo) {}

  /** {@link ModelEntity.ModelView} before retirement. */
  public record ModelView(String name, String description, java.util.List<ModelEntity.VersionInfo> versions,
                          String defaultVersion, int liveWorkers) {}
}
