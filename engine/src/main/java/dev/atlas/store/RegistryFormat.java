package dev.atlas.store;

/** Serialization of the registry file: JSON (pretty-printed, as the reference) or MessagePack (named maps). */
public enum RegistryFormat {
    JSON, MSGPACK
}
