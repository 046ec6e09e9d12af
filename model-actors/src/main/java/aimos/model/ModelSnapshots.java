package aimos.model;

import aimos.internal.snapshots.ModelSnapshot;
import org.apache.pekko.persistence.typed.SnapshotAdapter;

/**
 * The model's snapshot: registration, description and versions (with replicas, device memory and fallback, the
 * inputs of placement) as the protobuf message {@code aimos.internal.ModelSnapshot}, copied on the entity's thread.
 */
public final class ModelSnapshots implements SnapshotAdapter<ModelState> {
  static final ModelSnapshots INSTANCE = new ModelSnapshots();

  private ModelSnapshots() {}

  @Override
  public Object toJournal(ModelState s) {
    ModelSnapshot.Builder b = ModelSnapshot.newBuilder().setRegistered(s.registered).setDescription(s.description);
    s.versions.values().forEach(v -> b.addVersions(ModelEventSerializer.toProto(v)));
    s.retired.forEach((v, at) -> b.addRetired(aimos.internal.events.VersionRetired.newBuilder().setVersion(v)
        .setRetiredAtMillis(at)));
    return b.build();
  }

  @Override
  public ModelState fromJournal(Object from) {
    ModelSnapshot p = (ModelSnapshot) from;
    ModelState s = new ModelState();
    s.registered = p.getRegistered();
    s.description = p.getDescription();
    p.getVersionsList().forEach(v -> s.apply(new ModelEntity.VersionRegistered(ModelEventSerializer.fromProto(v))));
    p.getRetiredList().forEach(r -> s.apply(new ModelEntity.VersionRetired(r.getVersion(), r.getRetiredAtMillis())));
    return s;
  }
}
