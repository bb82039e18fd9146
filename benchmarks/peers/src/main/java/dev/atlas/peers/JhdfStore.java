package dev.atlas.peers;

import com.github.luben.zstd.Zstd;
import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import io.jhdf.api.Dataset;
import io.jhdf.api.DatasetCreationOptions;
import io.jhdf.filter.Filter;
import io.jhdf.filter.FilterManager;
import io.jhdf.filter.Lz4Filter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

/**
 * jHDF 0.13.0, pure-Java HDF5: one file, chunked float32 datasets. jHDF ships no compressing
 * filter but deflate, so Zstd and LZ4 are written through jHDF's {@code Filter} extension point
 * with the registered HDF5 filter formats: {@link ZstdH5Filter} (id 32015, one zstd frame per
 * chunk, zstd-jni) and {@link Lz4H5Filter} (id 32004, jHDF's own decoder plus an encoder of the
 * same block format, lz4-java). jHDF's write API takes Java multi-dimensional arrays and writes
 * on close; its reader slices with {@code getData(offset, shape)}. Many datasets: one file with
 * one dataset per dataset name (HDF5's idiom). jHDF has no parallel-read switch: window and whole
 * reads run as the library does them; the 64-in-flight reads share one {@link HdfFile} on a pool
 * of 64 threads.
 */
final class JhdfStore implements ArrayStore {
    static {
        FilterManager.addFilter(new ZstdH5Filter());
    }

    @Override
    public String name() {
        return "jHDF";
    }

    private static DatasetCreationOptions options(int[] chunk, Codec codec) {
        DatasetCreationOptions.Builder b = DatasetCreationOptions.builder().chunkDimensions(chunk);
        return codec == Codec.LZ4 ? b.filter(new Lz4H5Filter()).build() : b.filter(new ZstdH5Filter(), 3).build();
    }

    /** jHDF writes from Java multi-dimensional arrays; the conversion is done before timing (see PeersBench). */
    static final class Prepared {
        final float[][][] data;

        Prepared(float[][][] data) {
            this.data = data;
        }
    }

    private final java.util.IdentityHashMap<Field, float[][][]> prepared = new java.util.IdentityHashMap<>();

    /** Converts {@code f} to float[z][y][x] ahead of a timed write (untimed: a jHDF user holds data in that form). */
    void prepare(Field f) {
        prepared.computeIfAbsent(f, Field::to3d);
    }

    void forget() {
        prepared.clear();
    }

    private float[][][] data(Field f) {
        float[][][] d = prepared.get(f);
        return d != null ? d : f.to3d();
    }

    @Override
    public void write(Path dir, Field f, int[] chunk, Codec codec) {
        try (WritableHdfFile w = HdfFile.write(dir.resolve("x.h5"))) {
            w.putDataset("x", data(f), options(chunk, codec));
        }
    }

    @Override
    public Reader open(Path dir) {
        HdfFile file = new HdfFile(dir.resolve("x.h5"));
        Dataset ds = file.getDatasetByPath("x");
        return new Reader() {
            @Override
            public Region read(long[] start, int[] shape, boolean parallel) {
                return region((float[][][]) ds.getData(start, shape), shape);
            }

            @Override
            public void readMany(long[][] reads, int[] shape, int inFlight, ReadCheck check) throws Exception {
                Pool.run(reads.length, inFlight, i -> check.check(i, region((float[][][]) ds.getData(reads[i], shape), shape)));
            }

            @Override
            public void close() {
                file.close();
            }
        };
    }

    private static Region region(float[][][] d, int[] shape) {
        int plane = shape[1] * shape[2];
        return i -> d[i / plane][(i % plane) / shape[2]][i % shape[2]];
    }

    @Override
    public void writeMany(Path dir, List<Field> fields, int[] chunk, Codec codec, int parallelism) {
        // One writer: jHDF builds the file in memory and writes it on close.
        DatasetCreationOptions o = options(chunk, codec);
        try (WritableHdfFile w = HdfFile.write(dir.resolve("all.h5"))) {
            for (int i = 0; i < fields.size(); i++) {
                w.putDataset(AtlasStore.dsName(i), data(fields.get(i)), o);
            }
        }
    }

    @Override
    public List<Region> readMany(Path dir, int n, long[] start, int[] shape, int parallelism) throws Exception {
        Region[] out = new Region[n];
        try (HdfFile file = new HdfFile(dir.resolve("all.h5"))) {
            Pool.run(n, parallelism, i -> out[i] = region((float[][][]) file.getDatasetByPath(AtlasStore.dsName(i))
                    .getData(start, shape), shape));
        }
        return Arrays.asList(out);
    }

    /** HDF5 registered filter 32015 (Zstandard): each chunk is one zstd frame; cd_values[0] = level. */
    static final class ZstdH5Filter implements Filter {
        @Override
        public int getId() {
            return 32015;
        }

        @Override
        public String getName() {
            return "zstd";
        }

        @Override
        public byte[] decode(byte[] encoded, int[] filterData) {
            long size = Zstd.getFrameContentSize(encoded);
            if (size < 0 || size > Integer.MAX_VALUE) {
                throw new IllegalStateException("zstd frame without a usable content size: " + size);
            }
            return Zstd.decompress(encoded, (int) size);
        }

        @Override
        public byte[] encode(byte[] data, int[] filterData) {
            return Zstd.compress(data, filterData.length > 0 ? filterData[0] : 3);
        }
    }

    /**
     * HDF5 registered filter 32004 (LZ4), as the reference plugin writes it: big-endian original
     * size (8 bytes), block size (4 bytes), then per block its compressed size (4 bytes) and
     * bytes (stored raw when LZ4 does not shrink it). One block per chunk. Decoding is jHDF's.
     */
    static final class Lz4H5Filter extends Lz4Filter {
        private static final LZ4Compressor LZ4 = LZ4Factory.fastestInstance().fastCompressor();

        @Override
        public byte[] encode(byte[] data, int[] filterData) {
            byte[] c = new byte[LZ4.maxCompressedLength(data.length)];
            int n = LZ4.compress(data, 0, data.length, c, 0, c.length);
            boolean raw = n >= data.length;
            int len = raw ? data.length : n;
            ByteBuffer out = ByteBuffer.allocate(16 + len); // big-endian
            out.putLong(data.length).putInt(data.length).putInt(len);
            out.put(raw ? data : c, 0, len);
            return out.array();
        }
    }
}
