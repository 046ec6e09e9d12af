package aimos.access.token;

import aimos.internal.access.AdminTokenIssued;
import aimos.internal.access.AdminTokenRevoked;
import aimos.internal.access.AdminTokenRotated;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.NotSerializableException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Writes access events as the protobuf messages of {@code aimos/internal/access.proto}. The manifest names the event
 * and its schema version, so events written by earlier versions stay readable.
 */
public final class AccessEventSerializer extends SerializerWithStringManifest {
  static final String ISSUED = "AdminTokenIssued.v1";
  static final String ROTATED = "AdminTokenRotated.v1";
  static final String REVOKED = "AdminTokenRevoked.v1";

  public AccessEventSerializer(ExtendedActorSystem system) {}

  public AccessEventSerializer() {}

  @Override
  public int identifier() {
    return 7410;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof AdminTokenEntity.Issued) return ISSUED;
    if (o instanceof AdminTokenEntity.Rotated) return ROTATED;
    if (o instanceof AdminTokenEntity.Revoked) return REVOKED;
    throw new IllegalArgumentException("Not an access event: " + o.getClass());
  }

  @Override
  public byte[] toBinary(Object o) {
    if (o instanceof AdminTokenEntity.Issued e) {
      return AdminTokenIssued.newBuilder().setId(e.id()).setName(e.name()).setRole(e.role().label())
          .setSalt(ByteString.copyFrom(e.salt())).setHash(ByteString.copyFrom(e.hash()))
          .setIssuedAtMillis(e.atMillis()).setIssuedBy(e.by()).build().toByteArray();
    }
    if (o instanceof AdminTokenEntity.Rotated e) {
      return AdminTokenRotated.newBuilder().setId(e.id()).setSalt(ByteString.copyFrom(e.salt()))
          .setHash(ByteString.copyFrom(e.hash())).setRotatedAtMillis(e.atMillis()).setRotatedBy(e.by())
          .setPreviousValidUntilMillis(e.previousValidUntilMillis()).build().toByteArray();
    }
    if (o instanceof AdminTokenEntity.Revoked e) {
      return AdminTokenRevoked.newBuilder().setId(e.id()).setRevokedAtMillis(e.atMillis()).setRevokedBy(e.by())
          .build().toByteArray();
    }
    throw new IllegalArgumentException("Not an access event: " + o.getClass());
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try {
      switch (manifest) {
        case ISSUED: {
          AdminTokenIssued p = AdminTokenIssued.parseFrom(bytes);
          return new AdminTokenEntity.Issued(p.getId(), p.getName(), Role.ofLabel(p.getRole()),
              p.getSalt().toByteArray(), p.getHash().toByteArray(), p.getIssuedAtMillis(), p.getIssuedBy());
        }
        case ROTATED: {
          AdminTokenRotated p = AdminTokenRotated.parseFrom(bytes);
          return new AdminTokenEntity.Rotated(p.getId(), p.getSalt().toByteArray(), p.getHash().toByteArray(),
              p.getRotatedAtMillis(), p.getRotatedBy(), p.getPreviousValidUntilMillis());
        }
        case REVOKED: {
          AdminTokenRevoked p = AdminTokenRevoked.parseFrom(bytes);
          return new AdminTokenEntity.Revoked(p.getId(), p.getRevokedAtMillis(), p.getRevokedBy());
        }
        default:
          throw new NotSerializableException("Unknown access event manifest " + manifest);
      }
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      throw new NotSerializableException("Corrupt " + manifest + ": " + e.getMessage());
    }
  }
}
