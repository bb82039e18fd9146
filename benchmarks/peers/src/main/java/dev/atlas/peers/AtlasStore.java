package dev.atlas.peers;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.DType;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetRead;
import dev.atlas.store.StoreCodec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Our engine through its public API with default options (only the codec is chosen, as the
 * comparison needs Zstd-3 and LZ4): {@link ArrayFile} over {@link LocalStorage} for single arrays,
 * {@link Atlas} (via {@link LocalAtlas}) for many datasets. Reads hand back {@link NdArray}s,
 * closed once checked.
 */
final class AtlasStore implements ArrayStore {
    static final Duration T = Duration.ofMinutes(10);
    private final EngineResources res = EngineResources.create();

    @Override
    public String name() {
        return "Atlas";
    }

    private ArrayFileOptions options(Codec codec) {
        // -DsoloChunk=<bytes> for A/B runs of the block layout (the default is the engine's).
        return ArrayFileOptions.builder(res).codec(codec == Codec.LZ4 ? BlockCodecs.lz4() : BlockCodecs.zstd(3))
                .soloChunkSize(Long.getLong("soloChunk", ArrayFileOptions.DEFAULT_SOLO_CHUNK_SIZE)).build();
    }

    @Override
    public void write(Path dir, Field f, int[] chunk, Codec codec) {
        try (LocalStorage st = LocalStorage.open(dir, res)) {
            ArrayFile af = ArrayFile.create(st, "x.af", options(codec)).block(T);
            af.defineArray("x", ArraySpec.of(DType.FLOAT32, f.shapeLong()).withChunks(toLong(chunk)))
                    .then(Mono.using(() -> NdArray.ofFloats(f.shapeLong(), f.data), a -> af.writeArray("x", new long[3], a),
                            NdArray::close))
                    .then(af.flush())
                    .then(af.close())
                    .block(T);
        }
    }

    @Override
    public Reader open(Path dir) {
        res.caches().invalidateAll(); // a fresh process: cold engine caches (the OS page cache stays warm for all)
        LocalStorage st = LocalStorage.open(dir, res);
        ArrayFile af = ArrayFile.open(st, "x.af", options(Codec.ZSTD3)).block(T);
        return new Reader() {
            @Override
            public Region read(long[] start, int[] shape, boolean parallel) {
                return region(af.readArray("x", start, toLong(shape)).block(T));
            }

            @Override
            public void readMany(long[][] reads, int[] shape, int inFlight, ReadCheck check) {
                long[] sh = toLong(shape);
                Flux.range(0, reads.length)
                        .flatMap(i -> af.readArray("x", reads[i], sh).map(a -> {
                            try (Region r = region(a)) {
                                check.check(i, r);
                            }
                            return i;
                        }), inFlight)
                        .then()
                        .block(T);
            }

            @Override
            public void close() {
                af.close().block(T);
                st.close();
            }
        };
    }

    private static Region region(NdArray a) {
        return new Region() {
            @Override
            public float at(int i) {
                return a.getFloat(i);
            }

            @Override
            public void close() {
                a.close();
            }
        };
    }

    private static AtlasOptions atlasOptions(EngineResources res, Codec codec) {
        AtlasOptions.Builder b = AtlasOptions.builder(res).codec(codec == Codec.LZ4 ? StoreCodec.LZ4 : StoreCodec.ZSTD)
                .blockTargetSize(Long.getLong("blockTarget", AtlasOptions.DEFAULT_BLOCK_TARGET_SIZE));
        // The store's defaults (I/O concurrency per storage, CPU concurrency per core) unless -Dio
        // (or the former -Dbulk) / -Dcpu.
        Integer io = Integer.getInteger("io", Integer.getInteger("bulk"));
        if (io != null) {
            b.ioConcurrency(io);
        }
        Integer cpu = Integer.getInteger("cpu");
        if (cpu != null) {
            b.cpuConcurrency(cpu);
        }
        return b.build();
    }

    @Override
    public void writeMany(Path dir, List<Field> fields, int[] chunk, Codec codec, int parallelism) {
        Atlas atlas = LocalAtlas.create(dir, atlasOptions(res, codec)).block(T);
        long[] ch = toLong(chunk);
        Flux.range(0, fields.size())
                .flatMap(i -> atlas.createDataset(dsName(i)).flatMap(v -> {
                    Field f = fields.get(i);
                    return v.defineArray("x", ArraySpec.of(DType.FLOAT32, f.shapeLong()).withChunks(ch))
                            .then(Mono.using(() -> NdArray.ofFloats(f.shapeLong(), f.data),
                                    a -> v.writeArray("x", new long[3], a), NdArray::close));
                }), parallelism)
                .then(atlas.flush())
                .then(atlas.close())
                .block(T);
    }

    @Override
    public List<Region> readMany(Path dir, int n, long[] start, int[] shape, int parallelism) {
        // readArrayAcross plans all datasets at once, at the store's default I/O and CPU concurrency.
        res.caches().invalidateAll();
        Atlas atlas = LocalAtlas.open(dir, atlasOptions(res, Codec.ZSTD3)).block(T);
        List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            names.add(dsName(i));
        }
        try {
            Region[] out = new Region[n];
            atlas.readArrayAcross("x", names, start, toLong(shape))
                    .doOnNext(r -> out[r.index()] = region(r))
                    .then()
                    .block(T);
            return Arrays.asList(out);
        } finally {
            atlas.close().block(T);
        }
    }

    private static Region region(DatasetRead r) {
        if (r.absent()) {
            throw new IllegalStateException("dataset " + r.dataset() + " has no array x");
        }
        return region(r.array()); // closing the array is all DatasetRead.close does
    }

    static String dsName(int i) {
        return String.format("ds%05d", i);
    }

    static long[] toLong(int[] a) {
        long[] l = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            l[i] = a[i];
        }
        return l;
    }

    @Override
    public void close() {
        res.caches().invalidateAll();
        res.disposeLater().block(T);
    }
}
