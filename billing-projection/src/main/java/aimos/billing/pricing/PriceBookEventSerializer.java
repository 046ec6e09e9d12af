package aimos.billing.pricing;

import aimos.internal.events.ModelUnitPrice;
import aimos.internal.events.PriceListAdded;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.NotSerializableException;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Writes {@link PriceBookEntity.Event}s as the protobuf messages of {@code aimos/internal/events.proto}. The manifest
 * names the event and its schema version, so events written by earlier versions stay readable.
 */
public final class PriceBookEventSerializer extends SerializerWithStringManifest {
  static final String LIST_ADDED = "PriceListAdded.v1";

  public PriceBookEventSerializer(ExtendedActorSystem system) {}

  public PriceBookEventSerializer() {}

  @Override
  public int identifier() {
    return 7404;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof PriceBookEntity.PriceListAdded) return LIST_ADDED;
    throw new IllegalArgumentException("Not a price book event: " + o.getClass());
  }

  @Override
  public byte[] toBinary(Object o) {
    if (o instanceof PriceBookEntity.PriceListAdded e) {
      PriceList l = e.list();
      PriceCatalog p = l.prices();
      PriceListAdded.Builder b = PriceListAdded.newBuilder().setId(l.id())
          .setEffectiveFromMillis(l.effectiveFromMillis()).setTokensPer1KMicros(p.tokensPer1kMicros())
          .setImageMicros(p.imageMicros()).setAudioMinuteMicros(p.audioMinuteMicros())
          .setDiscountThresholdTokens(p.discountThresholdTokens()).setDiscountPercent(p.discountPercent())
          .setAddedAtMillis(l.addedAtMillis());
      // sorted by model, so that the same list always gives the same bytes
      new TreeMap<>(l.modelUnitPrices()).forEach((model, micros) ->
          b.addModelPrices(ModelUnitPrice.newBuilder().setModel(model).setUnitPriceMicros(micros)));
      return b.build().toByteArray();
    }
    throw new IllegalArgumentException("Not a price book event: " + o.getClass());
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    if (!LIST_ADDED.equals(manifest)) {
      throw new NotSerializableException("Unknown price book event manifest " + manifest);
    }
    try {
      PriceListAdded p = PriceListAdded.parseFrom(bytes);
      Map<String, Long> models = new TreeMap<>();
      p.getModelPricesList().forEach(m -> models.put(m.getModel(), m.getUnitPriceMicros()));
      return new PriceBookEntity.PriceListAdded(new PriceList(p.getId(), p.getEffectiveFromMillis(),
          new PriceCatalog(p.getTokensPer1KMicros(), p.getImageMicros(), p.getAudioMinuteMicros(),
              p.getDiscountThresholdTokens(), p.getDiscountPercent()), models, p.getAddedAtMillis()));
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      throw new NotSerializableException("Corrupt " + manifest + ": " + e.getMessage());
    }
  }
}
