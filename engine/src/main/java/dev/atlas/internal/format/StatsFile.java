package dev.atlas.internal.format;

import dev.atlas.format.ArrayStats;
import java.util.List;

/**
 * The {@code {stem}.stats} table. {@code version} is {@link #VERSION_V1} for files of crate 0.12
 * and of this engine, or {@link #UNVERSIONED} for the layout of crates 0.9-0.11 (no version field).
 */
public record StatsFile(int version, List<ArrayStats> arrays) {
    /** The 0.12 layout {@code {version: u32, arrays}}. */
    public static final int VERSION_V1 = 1;
    /** The 0.9-0.11 layout {@code {arrays}}. */
    public static final int UNVERSIONED = -1;

    public StatsFile {
        arrays = List.copyOf(arrays);
    }

    /** The entry of {@code name}, or null. */
    public ArrayStats get(String name) {
        for (ArrayStats s : arrays) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        return null;
    }
}
