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
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Reads of one region of one array from many datasets: streamed per dataset, or stacked into one
 * buffer. One registry lookup per call; each dataset's read goes straight to the shared array file.
 */
final class BulkReads {
    private final AtlasOptions options;
    private final RegistryState state;
    private final ArrayFiles files;

    /** One dataset's values of a stacked variable-length read. */
    private record Row(int index, List<Object> values) {
    }

    BulkReads(AtlasOptions options, RegistryState state, ArrayFiles files) {
        this.options = options;
        this.state = state;
        this.files = files;
    }

    /** See {@link Atlas#readArrayAcross}. */
    Flux<DatasetRead> across(String array, List<String> datasets, long[] start, long[] shape) {
        return Flux.defer(() -> {
            boolean[] declared = state.declaring(datasets, array);
            boolean any = false;
            for (boolean d : declared) {
                any |= d;
            }
            if (!any) {
                return Flux.error(new ArrayNotFoundException("no listed dataset declares array '" + array + "'"));
            }
            // One pinned state of the file set for every dataset: results of one bulk read agree.
            return files.file(array, false).flatMap(ArrayFile::pin).flatMapMany(f -> Flux.range(0, datasets.size())
                    .flatMap(i -> {
                        String ds = datasets.get(i);
                        if (!declared[i]) {
                            return Mono.just(new DatasetRead(i, ds, null));
                        }
                        return f.readArray(ds, start, shape).map(a -> new DatasetRead(i, ds, a));
                    }, options.bulkConcurrency()))
                    .doOnDiscard(DatasetRead.class, DatasetRead::close);
        });
    }

    /** See {@link Atlas#readArrayAcrossStacked}. */
    Mono<NdArray> stacked(String array, List<String> datasets, long[] start, long[] shape) {
        return stacked(array, datasets, start, shape, null, null);
    }

    /** See {@link Atlas#readArrayAcrossStacked}; from {@code pin} when given (then not started over). */
    Mono<NdArray> stacked(String array, List<String> datasets, long[] start, long[] shape, ArrayFile.Pinned pin,
            Registry registry) {
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

    /** Fixed-width elements: each dataset's read fills its row of one pooled direct buffer. */
    private Mono<NdArray> stackedFixed(ArrayFile.Pinned f, String array, List<String> datasets, long[] start, long[] shape,
            DType dtype, long[] outShape) {
        long rowBytes = ChunkGrid.product(shape) * dtype.elementSize();
        long total = rowBytes * datasets.size();
        if (total > Integer.MAX_VALUE - 8) {
            return Mono.error(new InvalidArgumentException("stacked read of " + total + " bytes exceeds one buffer;"
                    + " read fewer datasets at a time"));
        }
        return Mono.defer(() -> {
            ReadTarget target = ReadTarget.allocate(options.resources().allocator(), (int) total);
            return Flux.range(0, datasets.size())
                    .flatMap(i -> f.readInto(datasets.get(i), dtype, start, shape, target, i * rowBytes),
                            options.bulkConcurrency())
                    .then(Mono.fromCallable(() -> {
                        ByteBuf buf = target.take();
                        if (buf == null) {
                            throw new AtlasException("stacked read of '" + array + "': its buffer is still held by a read");
                        }
                        buf.writerIndex((int) total);
                        return NdArray.wrap(dtype, outShape, buf);
                    }))
                    .doOnError(e -> target.release())
                    .doOnCancel(target::release);
        });
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
                }), options.bulkConcurrency())
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
