package dev.atlas.array;

import dev.atlas.error.InvalidArgumentException;
import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Which sidecars of a file set a commit record counts as committed: those numbered up to
 * {@code through} that are not {@code excluded}. A store keeps one per array file in its registry;
 * a sidecar it does not count was written by a flush whose commit has not happened (yet, or ever):
 * readers ignore it, and only garbage collection, once it is old, deletes it (it may be another
 * writer's commit in progress). A file set used on its own counts every sidecar ({@link #ALL}):
 * there a sidecar is committed once its create-if-absent write succeeded.
 *
 * @param through the highest committed sidecar number ({@code 0}: the base alone)
 * @param excluded numbers at or below {@code through} that are not committed
 */
public record CommittedLayers(long through, SortedSet<Long> excluded) {
    /** Every sidecar that exists. */
    public static final CommittedLayers ALL = new CommittedLayers(Long.MAX_VALUE, new TreeSet<>());

    public CommittedLayers {
        if (through < 0) {
            throw new InvalidArgumentException("committed layers through " + through + " (must be >= 0)");
        }
        TreeSet<Long> copy = new TreeSet<>();
        for (Long n : excluded) {
            if (n == null || n < 1 || n > through) {
                throw new InvalidArgumentException("excluded sidecar " + n + " is not in [1, " + through + "]");
            }
            copy.add(n);
        }
        excluded = Collections.unmodifiableSortedSet(copy);
    }

    /** Sidecars 1 to {@code through}, none excluded. */
    public static CommittedLayers through(long through) {
        return new CommittedLayers(through, new TreeSet<>());
    }

    /** Whether sidecar {@code n} counts as committed. */
    public boolean includes(long n) {
        return n <= through && !excluded.contains(n);
    }

    /** True for {@link #ALL}: every existing sidecar is committed. */
    public boolean all() {
        return through == Long.MAX_VALUE;
    }
}
