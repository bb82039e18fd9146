package dev.atlas.peers;

import io.tiledb.java.api.ArraySchema;
import io.tiledb.java.api.ArrayType;
import io.tiledb.java.api.Attribute;
import io.tiledb.java.api.Context;
import io.tiledb.java.api.Dimension;
import io.tiledb.java.api.Domain;
import io.tiledb.java.api.FilterList;
import io.tiledb.java.api.LZ4Filter;
import io.tiledb.java.api.Layout;
import io.tiledb.java.api.Pair;
import io.tiledb.java.api.Query;
import io.tiledb.java.api.QueryStatus;
import io.tiledb.java.api.QueryType;
import io.tiledb.java.api.SubArray;
import io.tiledb.java.api.ZstdFilter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * TileDB-Java 0.22.0 (native TileDB 2.20): a dense array, one float32 attribute with a
 * {@code ZstdFilter(3)} or {@code LZ4Filter} filter list, space tiles = the chunk shape, row-major
 * tile and cell order; queries through direct NIO buffers (the binding's zero-copy path), default
 * context configuration (TileDB's own thread pools sized to the cores). Many datasets: one dense
 * array per dataset under one directory, one shared {@link Context}.
 */
final class TileDbStore implements ArrayStore {
    private static final String ATTR = "v";
    private final Context ctx;

    TileDbStore() throws Exception {
        ctx = new Context();
    }

    @Override
    public String name() {
        return "TileDB";
    }

    private void create(String uri, int[] shape, int[] chunk, Codec codec) throws Exception {
        try (Domain dom = new Domain(ctx);
                Attribute att = new Attribute(ctx, ATTR, Float.class);
                FilterList fl = new FilterList(ctx);
                ArraySchema schema = new ArraySchema(ctx, ArrayType.TILEDB_DENSE)) {
            String[] names = {"z", "y", "x"};
            for (int d = 0; d < 3; d++) {
                dom.addDimension(new Dimension<>(ctx, names[d], Integer.class, new Pair<>(0, shape[d] - 1), chunk[d]));
            }
            fl.addFilter(codec == Codec.LZ4 ? new LZ4Filter(ctx) : new ZstdFilter(ctx, 3));
            att.setFilterList(fl);
            schema.setTileOrder(Layout.TILEDB_ROW_MAJOR);
            schema.setCellOrder(Layout.TILEDB_ROW_MAJOR);
            schema.setDomain(dom);
            schema.addAttribute(att);
            io.tiledb.java.api.Array.create(uri, schema);
        }
    }

    private SubArray subarray(io.tiledb.java.api.Array a, long[] start, int[] shape) throws Exception {
        SubArray sub = new SubArray(a.getCtx(), a);
        for (int d = 0; d < 3; d++) {
            sub.addRange(d, (int) start[d], (int) (start[d] + shape[d] - 1), null);
        }
        return sub;
    }

    private void writeData(String uri, Field f) throws Exception {
        ByteBuffer buf = ByteBuffer.allocateDirect(f.size() * 4).order(ByteOrder.nativeOrder());
        buf.asFloatBuffer().put(f.data);
        try (io.tiledb.java.api.Array a = new io.tiledb.java.api.Array(ctx, uri, QueryType.TILEDB_WRITE);
                Query q = new Query(a, QueryType.TILEDB_WRITE);
                SubArray sub = subarray(a, new long[3], f.shape)) {
            q.setLayout(Layout.TILEDB_ROW_MAJOR);
            q.setSubarray(sub);
            q.setDataBuffer(ATTR, buf);
            QueryStatus s = q.submit();
            if (s != QueryStatus.TILEDB_COMPLETED) {
                throw new IllegalStateException("TileDB write of " + uri + ": " + s);
            }
        }
    }

    @Override
    public void write(Path dir, Field f, int[] chunk, Codec codec) throws Exception {
        String uri = dir.resolve("x").toString();
        create(uri, f.shape, chunk, codec);
        writeData(uri, f);
    }

    private Region read(io.tiledb.java.api.Array a, long[] start, int[] shape) throws Exception {
        int n = shape[0] * shape[1] * shape[2];
        ByteBuffer buf = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder());
        try (Query q = new Query(a, QueryType.TILEDB_READ); SubArray sub = subarray(a, start, shape)) {
            q.setLayout(Layout.TILEDB_ROW_MAJOR);
            q.setSubarray(sub);
            q.setDataBuffer(ATTR, buf);
            QueryStatus s = q.submit();
            if (s != QueryStatus.TILEDB_COMPLETED) {
                throw new IllegalStateException("TileDB read: " + s);
            }
        }
        FloatBuffer fb = buf.asFloatBuffer();
        return fb::get;
    }

    @Override
    public Reader open(Path dir) throws Exception {
        io.tiledb.java.api.Array a = new io.tiledb.java.api.Array(ctx, dir.resolve("x").toString(), QueryType.TILEDB_READ);
        return new Reader() {
            @Override
            public Region read(long[] start, int[] shape, boolean parallel) throws Exception {
                return TileDbStore.this.read(a, start, shape);
            }

            @Override
            public void readMany(long[][] reads, int[] shape, int inFlight, ReadCheck check) throws Exception {
                // One open array per reader thread, on a context whose per-query thread pools are
                // off (concurrency level 1): the reader threads are the concurrency. 64 threads
                // sharing one open array crashed libtiledb (SIGSEGV) with LZ4 and spun in
                // tiledb_query_alloc with Zstd; with an array per thread but TileDB's default
                // pools, 10,000 noisy Zstd-3 reads took 244 s in one trial, 36 s with level 1.
                List<io.tiledb.java.api.Array> opened = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
                try (io.tiledb.java.api.Config cfg = new io.tiledb.java.api.Config()) {
                    cfg.set("sm.compute_concurrency_level", "1");
                    cfg.set("sm.io_concurrency_level", "1");
                    try (Context readers = new Context(cfg)) {
                        ThreadLocal<io.tiledb.java.api.Array> mine = ThreadLocal.withInitial(() -> {
                            try {
                                io.tiledb.java.api.Array own = new io.tiledb.java.api.Array(readers, dir.resolve("x").toString(),
                                        QueryType.TILEDB_READ);
                                opened.add(own);
                                return own;
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        });
                        try {
                            Pool.run(reads.length, inFlight, i -> check.check(i, TileDbStore.this.read(mine.get(), reads[i], shape)));
                        } finally {
                            opened.forEach(io.tiledb.java.api.Array::close);
                        }
                    }
                }
            }

            @Override
            public void close() {
                a.close();
            }
        };
    }

    @Override
    public void writeMany(Path dir, List<Field> fields, int[] chunk, Codec codec, int parallelism) throws Exception {
        Pool.run(fields.size(), parallelism, i -> {
            String uri = dir.resolve(AtlasStore.dsName(i)).toString();
            create(uri, fields.get(i).shape, chunk, codec);
            writeData(uri, fields.get(i));
        });
    }

    @Override
    public List<Region> readMany(Path dir, int n, long[] start, int[] shape, int parallelism) throws Exception {
        Region[] out = new Region[n];
        Pool.run(n, parallelism, i -> {
            try (io.tiledb.java.api.Array a = new io.tiledb.java.api.Array(ctx, dir.resolve(AtlasStore.dsName(i)).toString(),
                    QueryType.TILEDB_READ)) {
                out[i] = read(a, start, shape);
            }
        });
        return Arrays.asList(out);
    }

    @Override
    public void close() {
        ctx.close();
    }
}
