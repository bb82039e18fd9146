package dev.atlas.storage;

import java.util.Locale;

/**
 * Which kind of backend a {@link Storage} is: a fixed set, so that it can label metrics (a
 * bucket name or a directory never becomes a label value). Backends outside this project, and
 * wrappers that do not forward {@link Storage#kind()}, are {@link #OTHER}.
 */
public enum StorageKind {
    /** {@link InMemoryStorage}. */
    MEMORY,
    /** Files in a local directory ({@code dev.atlas.storage.local.LocalStorage}). */
    LOCAL,
    /** An S3-compatible object store ({@code dev.atlas.storage.s3.S3Storage}). */
    S3,
    /** Any other backend. */
    OTHER;

    /** The lower-case name used as a metrics tag value ({@code memory}, {@code local}, {@code s3}, {@code other}). */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
