package dev.atlas.peers;

import dev.zarr.zarrjava.store.FilesystemStore;
import dev.zarr.zarrjava.store.StoreHandle;
import dev.zarr.zarrjava.v3.Array;
import dev.zarr.zarrjava.v3.ArrayMetadata;
import dev.zarr.zarrjava.v3.DataType;
import dev.zarr.zarrjava.v3.Group;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * zarr-java 0.0.9, Zarr v3 on the filesystem store: one key (file) per chunk, codecs
 * {@code bytes(little) + zstd(level 3)} or {@code bytes(little) + blosc(lz4, clevel 9 = LZ4
 * acceleration 1, noshuffle)} — zarr-java has no bare LZ4 codec, Blosc is Zarr's LZ4 carrier.
 * No sharding (0.0.9 fails on whole-shard zstd reads). Whole-array and window reads/writes pass
 * {@code parallel = true} (zarr-java's documented switch; chunks on the common fork-join pool);
 * the 64-in-flight small reads run single-chunk reads on a pool of 64 threads. Many datasets: one
 * v3 group holding one array per dataset.
 */
final class ZarrStore implements ArrayStore {
    @Override
    public String name() {
        return "zarr-java";
    }

    private static ArrayMetadata meta(int[] shape, int[] chunk, Codec codec) throws Exception {
        return Array.metadataBuilder()
                .withShape(AtlasStore.toLong(shape))
                .withDataType(DataType.FLOAT32)
                .withChunkShape(chunk)
                .withFillValue(0)
                .withCodecs(c -> codec == Codec.LZ4
                        ? c.withBytes("LITTLE").withBlosc("lz4", "noshuffle", 9)
                        : c.withBytes("LITTLE").withZstd(3))
                .build();
    }

    private static ucar.ma2.Array wrap(Field f) {
        return ucar.ma2.Array.factory(ucar.ma2.DataType.FLOAT, f.shape, f.data);
    }

    @Override
    public void write(Path dir, Field f, int[] chunk, Codec codec) throws Exception {
        Array a = Array.create(new FilesystemStore(dir).resolve("x"), meta(f.shape, chunk, codec));
        a.write(new long[3], wrap(f), true);
    }

    @Override
    public Reader open(Path dir) throws Exception {
        Array a = Array.open(new FilesystemStore(dir).resolve("x"));
        return new Reader() {
            @Override
            public Region read(long[] start, int[] shape, boolean parallel) throws Exception {
                return region(a.read(start, shape, parallel));
            }

            @Override
            public void readMany(long[][] reads, int[] shape, int inFlight, ReadCheck check) throws Exception {
                Pool.run(reads.length, inFlight, i -> check.check(i, region(a.read(reads[i], shape, false))));
            }

            @Override
            public void close() {
            }
        };
    }

    private static Region region(ucar.ma2.Array a) {
        return a::getFloat;
    }

    @Override
    public void writeMany(Path dir, List<Field> fields, int[] chunk, Codec codec, int parallelism) throws Exception {
        StoreHandle root = new FilesystemStore(dir).resolve();
        Group.create(root);
        ArrayMetadata meta = meta(fields.get(0).shape, chunk, codec);
        Pool.run(fields.size(), parallelism, i -> {
            Array a = Array.create(root.resolve(AtlasStore.dsName(i)), meta);
            a.write(new long[3], wrap(fields.get(i)), false);
        });
    }

    @Override
    public List<Region> readMany(Path dir, int n, long[] start, int[] shape, int parallelism) throws Exception {
        StoreHandle root = new FilesystemStore(dir).resolve();
        Group.open(root);
        Region[] out = new Region[n];
        Pool.run(n, parallelism, i -> out[i] = region(Array.open(root.resolve(AtlasStore.dsName(i))).read(start, shape, false)));
        return Arrays.asList(out);
    }
}
