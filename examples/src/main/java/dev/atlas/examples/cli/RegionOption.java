package dev.atlas.examples.cli;

import dev.atlas.http.region.BadRegionException;
import dev.atlas.http.region.Region;
import dev.atlas.http.region.RegionSyntax;
import java.util.Arrays;
import java.util.List;

/** The {@code --region} option: {@link RegionSyntax} in its command line dialect, its errors worded as usage lines. */
final class RegionOption {
    private RegionOption() {
    }

    /**
     * Parses {@code text} against an array's {@code extent} (its shape); blank text is the whole array.
     *
     * @param dims dimension names for messages (may be shorter than the rank)
     * @throws CliException (usage) naming the bad part
     */
    static Region parse(String text, long[] extent, List<String> dims) {
        try {
            return RegionSyntax.parse(text, extent, RegionSyntax.Dialect.OPTION);
        } catch (BadRegionException e) {
            String bad = "bad --region '" + text + "': ";
            int d = e.axis();
            String dim = d >= 0 && d < dims.size() && !dims.get(d).isEmpty() ? "dimension " + d + " (" + dims.get(d) + ")"
                    : "dimension " + d;
            switch (e.problem()) {
                case AXIS_COUNT:
                    throw CliException.usage(bad + e.axes() + " parts for an array of rank " + extent.length
                            + " (shape " + Arrays.toString(extent) + ")");
                case OUTSIDE:
                    long lo = e.region().start()[d];
                    throw CliException.usage(bad + dim + ": " + lo + ":" + (lo + e.region().shape()[d])
                            + " is outside 0:" + extent[d]);
                default:
                    throw CliException.usage(bad + dim + ": '" + e.part() + "' is not start:stop, an index or ':'");
            }
        }
    }
}
