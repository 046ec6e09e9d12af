package aimos.serialization;

/**
 * Marker for messages that cross node boundaries. They are written by {@link KryoSerializer}, which refuses any class
 * not registered under {@code aimos.serialization.kryo.registrations}.
 */
public interface KryoSerializable {}
