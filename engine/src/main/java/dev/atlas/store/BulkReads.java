package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.NdArray;
import dev.atlas.array.ReadTarget;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.AtlasException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.format.DType;
import dev.atlas.internal.nd.ChunkGrid;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Reads of one region of one array from many datasets: streamed per dataset, or stacked into one
 * buffer. One registry lookup per call. All datasets' entries live in one array file set, so a
 * fixed-width read is planned once against one pinned state of it
 * ({@link ArrayFile.Pinned#readAcrossInto}): blocks shared by datasets decoded once, storage
 * ranges coalesced across datasets, {@link AtlasOptions#ioConcurrency(Storage)} ranges in flight
 * and {@link AtlasOptions#cpuConcurrency()} blocks decoding. Variable-length reads and whole-array
 * reads of datasets whose shapes differ go dataset by dataset.
 */
final class BulkReads {
    /**
     * Bytes of one batch of a streamed fixed-width read ({@link #across}): its datasets are planned
     * and read together into one buffer, whose rows are then handed out as the results.
     */
    static final long ACROSS_BATCH_BYTES = 64L << 20;

    private final Storage storage;
    private final AtlasOptions options;
    private final RegistryState state;
    private final ArrayFiles files;

    /** Bulk reads subscribed to ({@link Atlas#bulkReadsStarted}). */
    final LongAdder started = new LongAdder();
    /** Bulk reads subscribed to and not yet ended ({@link Atlas#bulkReadsInFlight}). */
    final LongAdder inFlight = new LongAdder();

    /** One dataset's values of a stacked variable-length read. */
    private record Row(int index, List<Object> values) {
    }

    BulkReads(Storage storage, AtlasOptions options, RegistryState state, ArrayFiles files) {
        this.storage = storage;
        this.options = options;
        this.state = state;
        this.files = files;
    }

    /** See {@link Atlas#readArrayAcross}. */
    Flux<DatasetRead> across(String array, List<String> datasets, long[] start, long[] shape) {
        return acrossUncounted(array, datasets, start, shape).doFirst(this::begin).doFinally(s -> inFlight.decrement());
    }

    private void begin() {
        started.increment();
        inFlight.increment();
    }

    private Flux<DatasetRead> acrossUncounted(String array, List<String> datasets, long[] start, long[] shape) {
        return Flux.defer(() -> {
            boolean[] declared = state.declaring(datasets, array);
            List<Integer> present = new ArrayList<>();
            for (int i = 0; i < declared.length; i++) {
                if (declared[i]) {
                    present.add(i);
                }
            }
            if (present.isEmpty()) {
                return Flux.error(new ArrayNotFoundException("no listed dataset declares array '" + array + "'"));
            }
            Flux<DatasetRead> absent = Flux.range(0, datasets.size()).filter(i -> !declared[i])
                    .map(i -> new DatasetRead(i, datasets.get(i), null));
            // One pinned state of the file set for every dataset: results of one bulk read agree.
            Mono<ArrayFile.Pinned> pinned = files.file(array, false).flatMap(ArrayFile::pin);
            DType dtype = state.schema(datasets.get(present.get(0)), array).dtype();
            Flux<DatasetRead> reads;
            if (start != null && shape != null && dtype.elementSize() > 0) {
                reads = pinned.flatMapMany(f -> acrossFixed(f, datasets, present, dtype, start, shape));
            } else {
                reads = pinned.flatMapMany(f -> Flux.fromIterable(present)
                        .flatMap(i -> f.readArray(datasets.get(i), start, shape).map(a -> new DatasetRead(i, datasets.get(i), a)),
                                options.ioConcurrency(storage)));
            }
            return Flux.concat(absent, reads).doOnDiscard(DatasetRead.class, DatasetRead::close);
        });
    }

    /**
     * The fixed-width regions of datasets {@code present} (indexes into {@code datasets}), in
     * batches of about {@link #ACROSS_BATCH_BYTES}: each batch planned and read at once into one
     * buffer whose rows become the results (each a slice holding the buffer).
     */
    private Flux<DatasetRead> acrossFixed(ArrayFile.Pinned f, List<String> datasets, List<Integer> present, DType dtype,
            long[] start, long[] shape) {
        long rowBytes = ChunkGrid.product(shape) * dtype.elementSize();
        int batch = (int) Math.max(1, Math.min(present.size(), ACROSS_BATCH_BYTES / Math.max(1, rowBytes)));
        if (rowBytes * batch > Integer.MAX_VALUE - 8) {
            return Flux.error(new InvalidArgumentException("a region of " + rowBytes + " bytes exceeds one buffer; read it in parts"));
        }
        List<List<Integer>> batches = new ArrayList<>();
        for (int i = 0; i < present.size(); i += batch) {
            batches.add(present.subList(i, Math.min(present.size(), i + batch)));
        }
        return Flux.fromIterable(batches).concatMap(b -> {
            List<String> names = new ArrayList<>(b.size());
            b.forEach(i -> names.add(datasets.get(i)));
            return readRows(f, names, dtype, start, shape, rowBytes, "bulk read").flatMapIterable(buf -> {
                List<DatasetRead> out = new ArrayList<>(b.size());
                try {
                    for (int k = 0; k < b.size(); k++) {
                        int i = b.get(k);
                        out.add(new DatasetRead(i, datasets.get(i), NdArray.wrap(dtype, shape,
                                buf.retainedSlice((int) (k * rowBytes), (int) rowBytes))));
                    }
                    return out;
                } catch (RuntimeException e) {
                    out.forEach(DatasetRead::close);
                    throw e;
                } finally {
                    buf.release();
                }
            });
        }, 0);
    }

    /**
     * The regions of {@code names} read at once into one buffer of {@code names.size() × rowBytes}
     * bytes, row {@code i} = {@code names.get(i)}; the emitted buffer is owned by the subscriber.
     */
    private Mono<ByteBuf> readRows(ArrayFile.Pinned f, List<String> names, DType dtype, long[] start, long[] shape,
            long rowBytes, String what) {
        long total = rowBytes * names.size();
        return Mono.defer(() -> {
            ReadTarget target = ReadTarget.allocate(options.resources().allocator(), (int) total);
            return f.readAcrossInto(names, dtype, start, shape, target, 0, options.ioConcurrency(storage),
                            options.cpuConcurrency())
                    .then(Mono.fromCallable(() -> {
                        ByteBuf buf = target.take();
                        if (buf == null) {
                            throw new AtlasException(what + ": its buffer is still held by a read");
                        }
                        buf.writerIndex((int) total);
                        return buf;
                    }))
                    .doOnError(e -> target.release())
                    .doOnCancel(target::release);
        });
    }

    /** See {@link Atlas#readArrayAcrossStacked}. */
    Mono<NdArray> stacked(String array, List<String> datasets, long[] start, long[] shape) {
        return stacked(array, datasets, start, shape, null, null);
    }

    /** See {@link Atlas#readArrayAcrossStacked}; from {@code pin} when given (then not started over). */
    Mono<NdArray> stacked(String array, List<String> datasets, long[] start, long[] shape, ArrayFile.Pinned pin,
            Registry registry) {
        return stackedUncounted(array, datasets, start, shape, pin, registry).doFirst(this::begin)
                .doFinally(s -> inFlight.decrement());
    }

    private Mono<NdArray> stackedUncounted(String array, List<String> datasets, long[] start, long[] shape,
            ArrayFile.Pinned pin, Registry registry) {
        return Mono.defer(() -> {
            if (datasets.isEmpty()) {
                return Mono.error(new ArrayNotFoundException("array '" + array + "': no datasets listed for a stacked read"));
            }
            List<ArraySchema> schemas = registry == null ? state.schemas(datasets, array) : schemasIn(registry, datasets, array);
            ArraySchema first = schemas.get(0);
            DType dtype = first.dtype();
            long[] st = start;
            long[] sh = shape;
            if (st == null && sh == null) {
                st = new long[first.rank()];
                sh = first.shape();
            } else if (st == null || sh == null) {
                return Mono.error(new InvalidArgumentException("give both start and shape, or neither"));
            }
            for (int i = 0; i < schemas.size(); i++) {
                ArraySchema s = schemas.get(i);
                if (!s.dtype().equals(dtype)) {
                    return Mono.error(new DTypeMismatchException(array + " (in dataset '" + datasets.get(i) + "')", dtype,
                            s.dtype()));
                }
                if (start == null && !Arrays.equals(s.shape(), first.shape())) {
                    return Mono.error(new InvalidArgumentException("stacked read of whole arrays '" + array
                            + "': dataset '" + datasets.get(i) + "' has shape " + Arrays.toString(s.shape())
                            + ", dataset '" + datasets.get(0) + "' has " + Arrays.toString(first.shape())));
                }
            }
            long[] outShape = new long[sh.length + 1];
            outShape[0] = datasets.size();
            System.arraycopy(sh, 0, outShape, 1, sh.length);
            long[] st0 = st;
            long[] sh0 = sh;
            // Every row from one pinned state; when that state's objects were replaced meanwhile
            // (a compaction elsewhere), the whole read starts again on a new pin.
            Mono<ArrayFile.Pinned> pinned = pin != null ? Mono.just(pin) : files.file(array, false).flatMap(ArrayFile::pin);
            Mono<NdArray> read = pinned.flatMap(f -> dtype.elementSize() <= 0
                    ? stackedVarLen(f, datasets, st0, sh0, dtype, outShape)
                    : stackedFixed(f, array, datasets, st0, sh0, dtype, outShape));
            return pin != null ? read : read.retryWhen(reactor.util.retry.Retry.max(3)
                    .filter(ObjectChangedException.class::isInstance)
                    .onRetryExhaustedThrow((spec, signal) -> signal.failure()));
        });
    }

    /** The schemas of {@code array} in {@code datasets} of registry {@code r}; ArrayNotFoundException naming the first that lacks it. */
    private static List<ArraySchema> schemasIn(Registry r, List<String> datasets, String array) {
        List<ArraySchema> out = new ArrayList<>(datasets.size());
        for (String ds : datasets) {
            Registry.DatasetEntry e = r.datasets.get(ds);
            ArraySchema s = e == null ? null : e.arrays.get(array);
            if (s == null) {
                throw new ArrayNotFoundException("array '" + array + "' (in dataset '" + ds + "')");
            }
            out.add(s);
        }
        return out;
    }

    /** Fixed-width elements: every dataset's region planned at once and read into its row of one pooled direct buffer. */
    private Mono<NdArray> stackedFixed(ArrayFile.Pinned f, String array, List<String> datasets, long[] start, long[] shape,
            DType dtype, long[] outShape) {
        long rowBytes = ChunkGrid.product(shape) * dtype.elementSize();
        long total = rowBytes * datasets.size();
        if (total > Integer.MAX_VALUE - 8) {
            return Mono.error(new InvalidArgumentException("stacked read of " + total + " bytes exceeds one buffer;"
                    + " read fewer datasets at a time"));
        }
        return readRows(f, datasets, dtype, start, shape, rowBytes, "stacked read of '" + array + "'")
                .map(buf -> NdArray.wrap(dtype, outShape, buf));
    }

    /** Strings and binaries: each dataset's region read whole, the values gathered in dataset order. */
    private Mono<NdArray> stackedVarLen(ArrayFile.Pinned f, List<String> datasets, long[] start, long[] shape, DType dtype,
            long[] outShape) {
        int n = datasets.size();
        long rowCount = ChunkGrid.product(shape);
        if (rowCount * n > Integer.MAX_VALUE - 8) {
            return Mono.error(new InvalidArgumentException("stacked read of " + rowCount * n + " elements is too large"));
        }
        return Mono.defer(() -> Flux.range(0, n)
                .flatMap(i -> f.readArray(datasets.get(i), start, shape).map(a -> {
                    try (a) {
                        List<Object> values = new ArrayList<>((int) rowCount);
                        for (long k = 0; k < rowCount; k++) {
                            values.add(dtype.kind() == DType.Kind.STRING ? a.getString(k) : a.getBinary(k));
                        }
                        return new Row(i, values);
                    }
                }), options.ioConcurrency(storage))
                .collectList()
                .map(rows -> {
                    List<Object> all = new ArrayList<>((int) (rowCount * n));
                    rows.sort(Comparator.comparingInt(Row::index));
                    rows.forEach(r -> all.addAll(r.values()));
                    return dtype.kind() == DType.Kind.STRING
                            ? NdArray.ofStrings(outShape, all.stream().map(String.class::cast).toList())
                            : NdArray.ofBinary(outShape, all.stream().map(byte[].class::cast).toList());
                }));
    }
}
