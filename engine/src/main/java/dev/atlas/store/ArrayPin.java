package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.NdArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import reactor.core.publisher.Mono;

/**
 * One array name fixed at one committed state of the store ({@link Atlas#pin(String)}): the
 * registry of a commit and the array file's state that commit names, for reads that must agree
 * with each other and with the dataset list they cover (the pieces of one streamed response, the
 * batches of one bulk response, a prefix selection). Reads never move to another state; when an
 * object the state names was replaced or removed meanwhile (another process compacted), they fail
 * with the retryable {@link dev.atlas.error.ObjectChangedException}: pin again and start over.
 * Holds no resources.
 */
public final class ArrayPin {
    private final String array;
    private final ArrayFile.Pinned pinned;
    private final Registry registry;
    private final RegistryState state;
    private final BulkReads bulk;

    /**
     * @param aligned the registry the file state belongs to, or null when they could not be
     *     aligned (a store changing faster than a pin is taken): then schemas come from the
     *     handle's registry at the time of each call
     */
    ArrayPin(String array, ArrayFile.Pinned pinned, Registry newest, Registry aligned, RegistryState state, BulkReads bulk) {
        this.array = array;
        this.pinned = pinned;
        this.registry = aligned;
        this.state = state;
        this.bulk = bulk;
    }

    /** The array name. */
    public String array() {
        return array;
    }

    /** Datasets of this state declaring the array, in registration order. */
    public List<String> datasets() {
        if (registry == null) {
            List<String> out = new ArrayList<>();
            for (String ds : state.datasetNames()) {
                if (state.schema(ds, array) != null) {
                    out.add(ds);
                }
            }
            return out;
        }
        List<String> out = new ArrayList<>();
        registry.datasets.forEach((ds, e) -> {
            if (e.arrays.containsKey(array)) {
                out.add(ds);
            }
        });
        return out;
    }

    /** Whether {@code dataset} is registered in this state. */
    public boolean hasDataset(String dataset) {
        return registry == null ? state.hasDataset(dataset) : registry.datasets.containsKey(dataset);
    }

    /** The array's schema in {@code dataset} in this state; empty when the dataset does not declare it. */
    public Optional<ArraySchema> schema(String dataset) {
        if (registry == null) {
            return Optional.ofNullable(state.schema(dataset, array));
        }
        Registry.DatasetEntry e = registry.datasets.get(dataset);
        return Optional.ofNullable(e == null ? null : e.arrays.get(array));
    }

    /**
     * The region of {@code dataset}'s array in this state (null start and shape: the whole array);
     * empty when the dataset does not declare the array.
     *
     * @return an array the subscriber owns and closes
     */
    public Mono<NdArray> readArray(String dataset, long[] start, long[] shape) {
        return Mono.defer(() -> schema(dataset).isEmpty() ? Mono.empty() : pinned.readArray(dataset, start, shape));
    }

    /**
     * As {@link Atlas#readArrayAcrossStacked}, every row from this state.
     *
     * @return an array the subscriber owns and closes
     */
    public Mono<NdArray> readArrayAcrossStacked(List<String> datasets, long[] start, long[] shape) {
        return bulk.stacked(array, datasets, start, shape, pinned, registry);
    }
}
