package aimos.serialization;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.ImmutableCollectionsSerializers;
import com.esotericsoftware.kryo.util.Pool;
import com.typesafe.config.Config;
import java.io.NotSerializableException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * Kryo for messages between nodes, with explicit registration: every class gets a fixed id from configuration
 * ({@code aimos.serialization.kryo.registrations}, one entry per class, contributed by each module's
 * reference.conf), so nodes agree on ids and an unregistered class is refused instead of written by name.
 */
public final class KryoSerializer extends SerializerWithStringManifest {
  public static final int IDENTIFIER = 7401;
  private static final String ACTOR_REF_ADAPTER = "org.apache.pekko.actor.typed.internal.adapter.ActorRefAdapter";

  private final ActorRefResolver resolver;
  private final List<Map.Entry<Class<?>, Integer>> registrations;
  private final Map<Class<?>, Class<? extends Record>> evolved;
  private final Pool<Kryo> pool;

  public KryoSerializer(ExtendedActorSystem system) {
    this.resolver = ActorRefResolver.get(Adapter.toTyped(system));
    this.registrations = loadRegistrations(system.settings().config(), system.dynamicAccess().classLoader());
    this.evolved = loadEvolved(system.settings().config(), system.dynamicAccess().classLoader());
    this.pool = new Pool<>(true, false, 64) {
      @Override
      protected Kryo create() {
        return newKryo();
      }
    };
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Serializer<?> evolvedSerializer(Class<?> type, Class<? extends Record> earlier) {
    return new EvolvedRecordSerializer(type, earlier);
  }

  /**
   * Message records that gained components, each with a record of its earlier shape
   * ({@code aimos.serialization.kryo.evolved}: class name to earlier class name).
   */
  @SuppressWarnings("unchecked")
  static Map<Class<?>, Class<? extends Record>> loadEvolved(Config config, ClassLoader loader) {
    Map<Class<?>, Class<? extends Record>> out = new java.util.HashMap<>();
    if (!config.hasPath("aimos.serialization.kryo.evolved")) {
      return out;
    }
    Config evolved = config.getConfig("aimos.serialization.kryo.evolved");
    for (var entry : evolved.root().entrySet()) {
      String now = entry.getKey();
      String before = evolved.getString("\"" + now + "\"");
      try {
        out.put(Class.forName(now, false, loader), (Class<? extends Record>) Class.forName(before, false, loader));
      } catch (ClassNotFoundException e) {
        throw new IllegalArgumentException("aimos.serialization.kryo.evolved names a missing class: " + e.getMessage(),
            e);
      }
    }
    return out;
  }

  static List<Map.Entry<Class<?>, Integer>> loadRegistrations(Config config, ClassLoader loader) {
    Config regs = config.getConfig("aimos.serialization.kryo.registrations");
    Map<Integer, String> byId = new TreeMap<>();
    List<Map.Entry<Class<?>, Integer>> out = new ArrayList<>();
    for (var entry : regs.root().entrySet()) {
      String className = entry.getKey();
      int id = regs.getInt("\"" + className + "\"");
      String previous = byId.put(id, className);
      if (previous != null) {
        throw new IllegalArgumentException("Kryo id " + id + " is registered for both " + previous + " and " + className);
      }
      try {
        out.add(Map.entry(Class.forName(className, false, loader), id));
      } catch (ClassNotFoundException e) {
        throw new IllegalArgumentException("Kryo registration names a missing class: " + className, e);
      }
    }
    out.sort(Comparator.comparingInt(Map.Entry::getValue));
    return out;
  }

  private Kryo newKryo() {
    Kryo kryo = new Kryo();
    kryo.setRegistrationRequired(true);
    kryo.setReferences(false);
    ActorRefSerializer refs = new ActorRefSerializer(resolver);
    kryo.addDefaultSerializer(ActorRef.class, refs);
    try {
      kryo.register(Class.forName(ACTOR_REF_ADAPTER), refs, 20);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("Pekko's typed ActorRef adapter class moved: " + ACTOR_REF_ADAPTER, e);
    }
    kryo.register(ArrayList.class, 21);
    kryo.register(HashMap.class, 22);
    kryo.register(LinkedHashMap.class, 23);
    kryo.register(TreeMap.class, 24);
    kryo.register(byte[].class, 25);
    kryo.register(String[].class, 26);
    kryo.register(float[].class, 27);
    ImmutableCollectionsSerializers.addDefaultSerializers(kryo);
    ImmutableCollectionsSerializers.registerSerializers(kryo);
    for (Map.Entry<Class<?>, Integer> r : registrations) {
      Class<? extends Record> earlier = evolved.get(r.getKey());
      if (earlier == null) {
        kryo.register(r.getKey(), r.getValue());
      } else {
        kryo.register(r.getKey(), evolvedSerializer(r.getKey(), earlier), r.getValue());
      }
    }
    // the earlier shapes are written inside their successors' bytes, never on their own: their ids are not sent
    evolved.values().forEach(kryo::register);
    return kryo;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    return o.getClass().getName();
  }

  @Override
  public byte[] toBinary(Object o) {
    Kryo kryo = pool.obtain();
    try {
      kryo.getRegistration(o.getClass());
      Output out = new Output(256, -1);
      kryo.writeObject(out, o);
      return out.toBytes();
    } finally {
      pool.free(kryo);
    }
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    Kryo kryo = pool.obtain();
    try {
      Class<?> type = Class.forName(manifest, false, getClass().getClassLoader());
      kryo.getRegistration(type);
      return kryo.readObject(new Input(bytes), type);
    } catch (ClassNotFoundException e) {
      throw new NotSerializableException("Unknown message class " + manifest);
    } finally {
      pool.free(kryo);
    }
  }

  /** Typed actor references travel as their serialization format and are resolved on the receiving node. */
  private static final class ActorRefSerializer extends Serializer<ActorRef<?>> {
    private final ActorRefResolver resolver;

    ActorRefSerializer(ActorRefResolver resolver) {
      this.resolver = resolver;
      setImmutable(true);
    }

    @Override
    public void write(Kryo kryo, Output output, ActorRef<?> ref) {
      output.writeString(resolver.toSerializationFormat(ref));
    }

    @Override
    public ActorRef<?> read(Kryo kryo, Input input, Class<? extends ActorRef<?>> type) {
      return resolver.resolveActorRef(input.readString());
    }
  }
}
