package aimos.serialization;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A message record that gained components since an earlier version, written so that nodes of both versions read
 * each other during a rolling upgrade: first the record as the earlier version was (a record class with the earlier
 * components, read by an earlier node as its own message, which ignores what follows), then the added components in
 * declaration order. Bytes of an earlier node end after the earlier part: the added components then take their
 * defaults ("", 0, false, null).
 */
final class EvolvedRecordSerializer<T extends Record> extends Serializer<T> {
  private final Class<T> type;
  private final Class<? extends Record> earlier;
  private final RecordComponent[] components;
  private final RecordComponent[] earlierComponents;
  private final List<RecordComponent> added = new ArrayList<>();
  private final Map<String, RecordComponent> byName = new HashMap<>();
  private final Constructor<T> canonical;
  private final Constructor<? extends Record> earlierCanonical;

  EvolvedRecordSerializer(Class<T> type, Class<? extends Record> earlier) {
    this.type = type;
    this.earlier = earlier;
    this.components = type.getRecordComponents();
    this.earlierComponents = earlier.getRecordComponents();
    Arrays.stream(components).forEach(c -> byName.put(c.getName(), c));
    for (RecordComponent e : earlierComponents) {
      RecordComponent now = byName.get(e.getName());
      if (now == null || !now.getType().equals(e.getType())) {
        throw new IllegalArgumentException(type.getName() + " must keep " + earlier.getName() + "'s component "
            + e.getName() + " (" + e.getType().getSimpleName() + ")");
      }
    }
    List<String> before = Arrays.stream(earlierComponents).map(RecordComponent::getName).toList();
    Arrays.stream(components).filter(c -> !before.contains(c.getName())).forEach(added::add);
    this.canonical = constructor(type, components);
    this.earlierCanonical = constructor(earlier, earlierComponents);
    setImmutable(true);
  }

  private static <R> Constructor<R> constructor(Class<R> type, RecordComponent[] components) {
    try {
      Constructor<R> c = type.getDeclaredConstructor(Arrays.stream(components).map(RecordComponent::getType)
          .toArray(Class<?>[]::new));
      c.setAccessible(true);
      return c;
    } catch (NoSuchMethodException e) {
      throw new IllegalArgumentException(type.getName() + " has no canonical constructor", e);
    }
  }

  @Override
  public void write(Kryo kryo, Output output, T message) {
    try {
      Object[] before = new Object[earlierComponents.length];
      for (int i = 0; i < before.length; i++) {
        before[i] = accessor(byName.get(earlierComponents[i].getName()), message);
      }
      kryo.writeObject(output, earlierCanonical.newInstance(before));
      for (RecordComponent c : added) {
        writeValue(kryo, output, c.getType(), accessor(c, message));
      }
    } catch (ReflectiveOperationException e) {
      throw new KryoException("cannot write " + type.getName(), e);
    }
  }

  @Override
  public T read(Kryo kryo, Input input, Class<? extends T> ignored) {
    try {
      Record before = kryo.readObject(input, earlier);
      Map<String, Object> values = new HashMap<>();
      for (RecordComponent e : earlierComponents) {
        values.put(e.getName(), accessor(e, before));
      }
      for (RecordComponent c : added) {
        values.put(c.getName(), input.end() ? defaultOf(c.getType()) : readValue(kryo, input, c.getType()));
      }
      Object[] args = Arrays.stream(components).map(c -> values.get(c.getName())).toArray();
      return canonical.newInstance(args);
    } catch (ReflectiveOperationException e) {
      throw new KryoException("cannot read " + type.getName(), e);
    }
  }

  private static Object accessor(RecordComponent c, Object record) throws ReflectiveOperationException {
    var m = c.getAccessor();
    m.setAccessible(true);
    return m.invoke(record);
  }

  private static void writeValue(Kryo kryo, Output out, Class<?> type, Object value) {
    if (type == boolean.class) {
      out.writeBoolean((Boolean) value);
    } else if (type == int.class) {
      out.writeVarInt((Integer) value, false);
    } else if (type == long.class) {
      out.writeVarLong((Long) value, false);
    } else if (type == String.class) {
      out.writeString((String) value);
    } else {
      kryo.writeClassAndObject(out, value);
    }
  }

  private static Object readValue(Kryo kryo, Input in, Class<?> type) {
    if (type == boolean.class) {
      return in.readBoolean();
    } else if (type == int.class) {
      return in.readVarInt(false);
    } else if (type == long.class) {
      return in.readVarLong(false);
    } else if (type == String.class) {
      String s = in.readString();
      return s == null ? "" : s;
    }
    return kryo.readClassAndObject(in);
  }

  private static Object defaultOf(Class<?> type) {
    if (type == boolean.class) {
      return false;
    } else if (type == int.class) {
      return 0;
    } else if (type == long.class) {
      return 0L;
    } else if (type == String.class) {
      return "";
    }
    return null;
  }
}
