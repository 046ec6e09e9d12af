package aimos.model;

import aimos.api.v1.BillingUnit;
import aimos.internal.events.ModelDirectoryEntryAdded;
import aimos.internal.events.ModelRegistered;
import aimos.internal.events.VersionRegistered;
import aimos.internal.snapshots.ModelSnapshot;
import aimos.model.directory.ModelDirectory;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.NotSerializableException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/** Writes model and model-directory events and model snapshots as the protobuf messages of {@code aimos/internal/events.proto}. */
public final class ModelEventSerializer extends SerializerWithStringManifest {
  static final String REGISTERED = "ModelRegistered.v1";
  static final String VERSION = "VersionRegistered.v1";
  static final String DIRECTORY_ADD = "ModelDirectoryEntryAdded.v1";
  static final String SNAPSHOT = "ModelSnapshot.v1";
  static final String RETIRED = "VersionRetired.v1";

  public ModelEventSerializer(ExtendedActorSystem system) {}

  public ModelEventSerializer() {}

  @Override
  public int identifier() {
    return 7403;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof ModelEntity.ModelRegistered) return REGISTERED;
    if (o instanceof ModelEntity.VersionRegistered) return VERSION;
    if (o instanceof ModelDirectory.NameAdded) return DIRECTORY_ADD;
    if (o instanceof ModelSnapshot) return SNAPSHOT;
    if (o instanceof ModelEntity.VersionRetired) return RETIRED;
    throw new IllegalArgumentException("Not a model event: " + o.getClass());
  }

  @Override
  public byte[] toBinary(Object o) {
    if (o instanceof ModelEntity.ModelRegistered e) {
      return ModelRegistered.newBuilder().setName(e.name()).setDescription(e.description())
          .setRegisteredAtMillis(e.registeredAtMillis()).build().toByteArray();
    }
    if (o instanceof ModelEntity.VersionRegistered e) {
      return toProto(e.info()).toByteArray();
    }
    if (o instanceof ModelEntity.VersionRetired e) {
      return aimos.internal.events.VersionRetired.newBuilder().setVersion(e.version())
          .setRetiredAtMillis(e.retiredAtMillis()).build().toByteArray();
    }
    if (o instanceof ModelSnapshot snapshot) {
      return snapshot.toByteArray();
    }
    if (o instanceof ModelDirectory.NameAdded e) {
      return ModelDirectoryEntryAdded.newBuilder().setName(e.name()).build().toByteArray();
    }
    throw new IllegalArgumentException("Not a model event: " + o.getClass());
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try {
      switch (manifest) {
        case REGISTERED -> {
          var p = ModelRegistered.parseFrom(bytes);
          return new ModelEntity.ModelRegistered(p.getName(), p.getDescription(), p.getRegisteredAtMillis());
        }
        case VERSION -> {
          return new ModelEntity.VersionRegistered(fromProto(VersionRegistered.parseFrom(bytes)));
        }
        case DIRECTORY_ADD -> {
          return new ModelDirectory.NameAdded(ModelDirectoryEntryAdded.parseFrom(bytes).getName());
        }
        case RETIRED -> {
          var p = aimos.internal.events.VersionRetired.parseFrom(bytes);
          return new ModelEntity.VersionRetired(p.getVersion(), p.getRetiredAtMillis());
        }
        case SNAPSHOT -> {
          return ModelSnapshot.parseFrom(bytes);
        }
        default -> throw new NotSerializableException("Unknown model event manifest " + manifest);
      }
    } catch (InvalidProtocolBufferException e) {
      throw new NotSerializableException("Corrupt " + manifest + ": " + e.getMessage());
    }
  }

  static VersionRegistered toProto(ModelEntity.VersionInfo i) {
    return VersionRegistered.newBuilder().setVersion(i.version()).setRuntime(i.runtime())
        .setBillingUnit(i.unit().name()).setUnitPriceMicros(i.unitPriceMicros()).setReplicas(i.replicas())
        .setRegisteredAtMillis(i.registeredAtMillis()).setDeviceMemoryMb(i.deviceMemoryMb())
        .setFallback(i.fallback()).build();
  }

  static ModelEntity.VersionInfo fromProto(VersionRegistered p) {
    return new ModelEntity.VersionInfo(p.getVersion(), p.getRuntime(), BillingUnit.valueOf(p.getBillingUnit()),
        p.getUnitPriceMicros(), Math.max(1, p.getReplicas()), p.getDeviceMemoryMb(), p.getRegisteredAtMillis(),
        p.getFallback());
  }
}
