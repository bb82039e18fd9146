package dev.atlas.format;

import java.util.Objects;

/**
 * Statistics of one array: min and max over non-fill stored cells (null when there are none),
 * the number of null cells (never stored, or equal to the fill) and the total cell count.
 */
public record ArrayStats(String name, StatValue min, StatValue max, long nullCount, long rowCount) {
    public ArrayStats {
        Objects.requireNonNull(name, "name");
    }
}
