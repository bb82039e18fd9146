package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.ChunkFragment;
import dev.atlas.array.NdArray;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.FillValue;
import dev.atlas.internal.AsyncGate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A handle on one dataset of an {@link Atlas} store. It holds no state of its own: registry reads
 * and changes are operations of the store's {@link RegistryState}, array data goes through the
 * store's shared {@link ArrayFiles}, so views are cheap and thread-safe. Mutations become durable
 * at the store's next {@link Atlas#flush()}; a view of a dataset deleted meanwhile fails mutations
 * with {@link dev.atlas.error.DatasetNotFoundException} (it never re-creates the dataset).
 */
public final class DatasetView {
    private final String name;
    private final AsyncGate gate;
    private final RegistryState state;
    private final ArrayFiles files;

    DatasetView(String name, AsyncGate gate, RegistryState state, ArrayFiles files) {
        this.name = name;
        this.gate = gate;
        this.state = state;
        this.files = files;
    }

    public String name() {
        return name;
    }

    /** The dataset's schemas and attributes now (empty when no longer registered). No I/O. */
    public DatasetMeta meta() {
        return state.meta(name);
    }

    /** Array names in declaration order. No I/O. */
    public List<String> listArrays() {
        return List.copyOf(meta().arrays().keySet());
    }

    /** The registry schema of {@code array}, empty when this dataset does not declare it. No I/O. */
    public Optional<ArraySchema> arrayMeta(String array) {
        return Optional.ofNullable(state.schema(name, array));
    }

    /** An attribute's value, empty when unset. No I/O. */
    public Optional<Attr> attribute(String key) {
        return Optional.ofNullable(meta().attributes().get(key));
    }

    /** Sets a dataset attribute (a re-set key keeps its place in the order). */
    public Mono<Void> setAttribute(String key, Attr value) {
        return gate.shared(() -> Mono.fromRunnable(() -> {
            if (key == null || value == null) {
                throw new InvalidArgumentException("attribute key and value must not be null");
            }
            state.setAttribute(name, key, value);
        }));
    }

    /** Removes a dataset attribute; completes normally when it was not set. */
    public Mono<Void> removeAttribute(String key) {
        return gate.shared(() -> Mono.fromRunnable(() -> state.removeAttribute(name, key)));
    }

    /**
     * Declares {@code array} in this dataset with {@code spec} (dtype, shape, chunks, dimension
     * names, fill value). Chunks default as {@link ArraySpec#of} does: one chunk up to 4 MiB.
     *
     * @throws dev.atlas.error.InvalidNameException (as an error signal) for a bad name
     * @throws dev.atlas.error.ArrayAlreadyExistsException (as an error signal) if declared already
     * @throws dev.atlas.error.DTypeMismatchException (as an error signal) if other datasets declare
     *     the array name with another dtype (shapes and chunking may differ)
     */
    public Mono<Void> defineArray(String array, ArraySpec spec) {
        return gate.shared(() -> Mono.defer(() -> {
            if (spec == null) {
                return Mono.error(new InvalidArgumentException("array spec must not be null"));
            }
            NameRules.checkArrayName(array);
            ArraySchema schema = new ArraySchema(spec.dtype(), spec.shape(), spec.chunkShape(), spec.dimensionNames(),
                    state.codec());
            RegistryState.Reservation reservation = state.reserve(name, array, spec.dtype());
            return files.file(array, true).flatMap(f -> {
                // An entry under this dataset's name that the registry does not declare is a
                // leftover (a tombstone the reference never flushed): replaced, not an error.
                Mono<Void> clear = f.listArrays().contains(name) ? f.delete(name) : Mono.empty();
                return clear.then(f.defineArray(name, spec));
            }).doOnSuccess(v -> state.complete(reservation, schema))
                    .doOnError(e -> state.cancel(reservation))
                    .doOnCancel(() -> state.cancel(reservation));
        }));
    }

    /**
     * Writes a slab at {@code start} (visible to reads at once, durable at the next flush).
     *
     * @param data not consumed: the caller still owns and closes it
     * @throws ArrayNotFoundException (as an error signal) if this dataset does not declare the array
     * @throws InvalidArgumentException (as an error signal) for a wrong rank, a slab reaching
     *     outside the declared shape, or a dtype other than the declared one
     */
    public Mono<Void> writeArray(String array, long[] start, NdArray data) {
        return gate.shared(() -> declared(array).flatMap(f -> f.writeArray(name, start, data)));
    }

    /**
     * Streams slabs along the first axis from {@code start}, one at a time (see
     * {@link ArrayFile#writeArray(String, long[], Publisher)}).
     *
     * @return the number of rows written
     */
    public Mono<Long> writeArray(String array, long[] start, Publisher<NdArray> slabs) {
        return gate.shared(() -> declared(array).flatMap(f -> f.writeArray(name, start, slabs)));
    }

    /** Reads the whole array; empty when this dataset does not declare it. The subscriber closes the result. */
    public Mono<NdArray> readArray(String array) {
        return readable(array).flatMap(f -> f.readArray(name));
    }

    /**
     * Reads the region {@code [start, start + shape)}; empty when this dataset does not declare the
     * array. Unwritten cells read as the fill value. The subscriber closes the result.
     */
    public Mono<NdArray> readArray(String array, long[] start, long[] shape) {
        return readable(array).flatMap(f -> f.readArray(name, start, shape));
    }

    /** The region as a stream of chunk fragments (see {@link ArrayFile#readFragments}). */
    public Flux<ChunkFragment> readFragments(String array, long[] start, long[] shape) {
        return readable(array).flatMapMany(f -> f.readFragments(name, start, shape));
    }

    /**
     * Removes {@code array} from this dataset (its entry is tombstoned; other datasets sharing the
     * array name are unaffected).
     *
     * @throws ArrayNotFoundException (as an error signal) if this dataset does not declare it
     */
    public Mono<Void> deleteArray(String array) {
        return gate.shared(() -> declared(array).flatMap(f -> f.delete(name))
                .then(Mono.fromRunnable(() -> state.undeclare(name, array))));
    }

    /**
     * The array's statistics as of the last flush; empty when the array is not declared here or no
     * flush computed them yet.
     */
    public Mono<ArrayStats> arrayStats(String array) {
        return readable(array).flatMap(f -> Mono.justOrEmpty(f.arrayStats(name)));
    }

    /** The array's fill value; empty when the array is not declared here or has none. */
    public Mono<FillValue> arrayFillValue(String array) {
        return readable(array).flatMap(f -> Mono.justOrEmpty(f.arrayMeta(name).fillValue()));
    }

    /** Sets a per-array attribute (stored in the array file, on this dataset's entry). */
    public Mono<Void> setArrayAttribute(String array, String key, AttributeValue value) {
        return gate.shared(() -> declared(array).flatMap(f -> f.setAttribute(name, key, value)));
    }

    /** The per-array attributes, in order; empty map when none. */
    public Mono<Map<String, AttributeValue>> arrayAttributes(String array) {
        return readable(array).map(f -> f.attributes(name)).defaultIfEmpty(Map.of());
    }

    /** The array file for a mutation of a declared array. */
    private Mono<ArrayFile> declared(String array) {
        return Mono.defer(() -> {
            state.requireDeclared(name, array);
            state.touch(name);
            return files.file(array, false);
        });
    }

    /** The array file for a read: empty when not declared. */
    private Mono<ArrayFile> readable(String array) {
        // The file set is brought up to the registry this handle knows first (when a refresh or a
        // commit moved on), so a dataset the registry lists is never missing from an older file state.
        return Mono.defer(() -> state.schema(name, array) == null ? Mono.empty()
                : files.file(array, false).flatMap(f -> f.catchUp().thenReturn(f)));
    }

    @Override
    public String toString() {
        return "DatasetView[" + name + "]";
    }
}
