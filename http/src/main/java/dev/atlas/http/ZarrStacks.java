package dev.atlas.http;

import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.http.ZarrMetadata.ZArray;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.Atlas;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetMeta;
import dev.atlas.store.DatasetView;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Cross-dataset stacks as Zarr groups: {@code /zarr/v2/_stack/{prefix}/} (and
 * {@code /zarr/v3/_stack/{prefix}/}, see below) is a virtual group of
 * the datasets whose names start with {@code prefix} (in the store's listing order; dataset names
 * never start with {@code _}, so no dataset hides behind {@code _stack}). Each array every one of
 * them declares is one Zarr array {@code [n, *shape]} chunked {@code [1, *chunks]}, with dimension
 * names {@code ["dataset", *dims]}; the coordinate variable {@code dataset} (a numpy
 * {@code <U} string array; {@code _dataset} when an array is called {@code dataset}) names the
 * datasets in order. An array named like one of its dimensions (a coordinate variable such as
 * {@code time}) varies per dataset once stacked, and is served as {@code {array}_by_dataset}
 * (xarray refuses a 2-D variable named like its dimension). The fill value and attributes are the
 * first dataset's. Datasets that declare
 * an array with another shape, chunk shape or dtype make every key of that array (and the
 * group's {@code .zmetadata}) a 400 naming the dataset and both schemas.
 *
 * <p>Stacks of listed names: {@code /zarr/v2/_names/{token}/} and {@code /zarr/v3/_names/{token}/}
 * are the same groups over the datasets a {@link ZarrNames} token lists, in its order (each must
 * exist: 404 naming the one that does not). The list travels in the URL, so no server keeps it:
 * every process of a fleet answers the same URL alike, and a CDN caches it like any other.
 *
 * <p>The v3 stack ({@code zarr.json} with the arrays consolidated inline, chunks {@code c.d.i.j.k})
 * has the same arrays except those without a v3 form (String, Binary: listed in
 * {@value ZarrMetadata#OMITTED}), and no coordinate array, since zarr-java 0.0.9 reads no string
 * array: the names of the datasets, in order, are the group attribute {@value #NAMES_ATTRIBUTE}.
 *
 * <p>Metadata comes from the registry (schemas) and the first dataset's file sets (fill value,
 * attributes): a stack of thousands of datasets touches no other array file until chunks are read.
 * The selection is resolved anew when the served commit or the dataset count changes (and at least
 * every two seconds; in between, a request reuses the last resolution instead of reading a
 * thousand schemas per chunk): a dataset registered meanwhile shifts the indices (the ETag, which
 * names the commit, tells a client to reload the metadata).
 */
final class ZarrStacks {
    /**
     * How long a resolved selection is reused while the commit and dataset count stand: long enough
     * that a client's burst of chunk requests resolves it once, short enough that an unflushed change
     * of the served handle (a new array) shows within seconds.
     */
    static final long RESOLVED_TTL_NANOS = 2_000_000_000L;
    /** Resolved selections kept (a bound against requests naming many prefixes; past it, all are dropped). */
    static final int MAX_RESOLVED = 256;

    /** Suffix of the served name of a stacked coordinate variable ({@code time} becomes {@code time_by_dataset}). */
    static final String BY_DATASET = "_by_dataset";

    private final Atlas atlas;
    private final ServerOptions options;
    private final ZarrRoutes zarr;

    private final boolean byNames;

    /**
     * The stacks of prefixes ({@code byNames} false: path parameter {@code prefix}) or of listed
     * names ({@code byNames} true: path parameter {@code names}, a {@link ZarrNames} token).
     */
    ZarrStacks(Atlas atlas, ServerOptions options, ZarrRoutes zarr, boolean byNames) {
        this.atlas = atlas;
        this.options = options;
        this.zarr = zarr;
        this.byNames = byNames;
    }

    /** The path parameter that names the selection. */
    private String param() {
        return byNames ? "names" : "prefix";
    }

    /**
     * A selection: its datasets in order, the arrays all of them declare by served name (the first
     * dataset's schemas), each served name's array name in the store, the coordinate's name.
     */
    private record Stack(String prefix, List<String> datasets, Map<String, ArraySchema> arrays, Map<String, String> source,
            String coordinate) {
        /** The selection in messages: {@code prefix 'grid_'} or {@code the N listed datasets}. */
        String label() {
            return prefix == null ? "the " + datasets.size() + " listed datasets" : "prefix '" + prefix + "'";
        }

        Map<String, Attr> attributes() {
            Map<String, Attr> a = new LinkedHashMap<>();
            if (prefix != null) {
                a.put("stack_prefix", new Attr.Str(prefix));
            }
            a.put("stack_datasets", new Attr.Int64(datasets.size()));
            return a;
        }
    }

    /** A resolved selection and what it was resolved against. */
    private record Resolved(Stack stack, String commit, int datasetCount, long atNanos) {
    }

    /**
     * Each selection (prefix or names token) with its datasets and arrays, as last resolved: a chunk
     * request of a stack of thousands of datasets would otherwise list the store and read every
     * dataset's schema (about 5 ms for 1,000 datasets, which bounded a stack to ~200 chunks/s on two
     * cores).
     */
    private final ConcurrentHashMap<String, Resolved> resolved = new ConcurrentHashMap<>();

    /**
     * The stack a selection names ({@code key}: a prefix, or a {@link ZarrNames} token): resolved anew when the handle's commit or dataset count changed
     * or {@link #RESOLVED_TTL_NANOS} passed since (a change this handle made but did not flush, such
     * as a new array, shows within that time); otherwise as last resolved. Nothing but speed depends
     * on this per-process memo: every serving process of a fleet resolves the same selection from
     * the same commit.
     */
    private Stack stack(String key) {
        if (!byNames) {
            Params.name(key, "prefix");
        }
        String commit = atlas.commitVersion();
        int count = atlas.datasetCount();
        long now = System.nanoTime();
        Resolved r = resolved.get(key);
        if (r != null && r.commit().equals(commit) && r.datasetCount() == count && now - r.atNanos() < RESOLVED_TTL_NANOS) {
            return r.stack();
        }
        Stack st = byNames ? resolve(null, ZarrNames.decode(key, options.maxDatasetsPerBulk())) : resolve(key);
        if (resolved.size() >= MAX_RESOLVED) {
            resolved.clear();
        }
        resolved.put(key, new Resolved(st, commit, count, now));
        return st;
    }

    /** The datasets of {@code prefix} (404 when none, 413 over the bulk limit) with every array all of them declare, checked. */
    private Stack resolve(String prefix) {
        List<String> names = new ArrayList<>();
        for (String n : atlas.listDatasets()) {
            if (n.startsWith(prefix)) {
                names.add(n);
            }
        }
        if (names.size() > options.maxDatasetsPerBulk()) {
            throw ApiError.tooLarge("prefix", names.size() + " datasets have prefix '" + prefix + "'; a stack holds at most "
                    + options.maxDatasetsPerBulk());
        }
        return resolve(prefix, names);
    }

    /**
     * The datasets {@code listed} (of a prefix, or named: then each must exist) with every array all
     * of them declare, checked.
     *
     * @param prefix the prefix they were listed by, or null for a list of names
     */
    private Stack resolve(String prefix, List<String> listed) {
        List<String> names = new ArrayList<>();
        List<DatasetMeta> metas = new ArrayList<>();
        for (String n : listed) {
            try {
                metas.add(atlas.dataset(n).meta());
                names.add(n);
            } catch (DatasetNotFoundException gone) {
                if (prefix == null) {
                    throw ApiError.notFound("the list names dataset '" + n + "', which does not exist", "names");
                }
                // deleted since the listing
            }
        }
        if (names.isEmpty()) {
            throw ApiError.notFound("no dataset with prefix '" + prefix + "'", "prefix");
        }
        Map<String, ArraySchema> arrays = new LinkedHashMap<>();
        Map<String, String> source = new LinkedHashMap<>();
        // Dimension names as the first dataset's own view gives them (unambiguous within it).
        ZarrMetadata.withGroupDimensions(metas.get(0).arrays()).forEach((a, s) -> {
            if (ZarrMetadata.served(s.dtype(), false) && metas.stream().allMatch(m -> m.arrays().containsKey(a))) {
                check(names, metas, a);
                // A coordinate variable (named like its dimension) becomes 2-D when stacked: xarray
                // refuses a variable named like one of its dimensions unless it is 1-D, so it is
                // served under another name.
                String served = ZarrMetadata.dimensionNames(a, s).contains(a) ? a + BY_DATASET : a;
                arrays.put(served, s);
                source.put(served, a);
            }
        });
        return new Stack(prefix, names, arrays, source, arrays.containsKey("dataset") ? "_dataset" : "dataset");
    }

    /** 400 naming the first dataset whose {@code array} differs from the first dataset's in dtype, shape or chunks. */
    private void check(List<String> names, List<DatasetMeta> metas, String array) {
        ArraySchema first = metas.get(0).arrays().get(array);
        for (int i = 1; i < metas.size(); i++) {
            ArraySchema s = metas.get(i).arrays().get(array);
            if (!s.dtype().equals(first.dtype()) || !Arrays.equals(s.shape(), first.shape())
                    || !Arrays.equals(s.chunkShape(), first.chunkShape())) {
                throw ApiError.badParameter(param(), "dataset '" + names.get(i) + "' declares array '" + array + "' as "
                        + s.dtype() + " " + Arrays.toString(s.shape()) + " chunks " + Arrays.toString(s.chunkShape())
                        + ", dataset '" + names.get(0) + "' as " + first.dtype() + " " + Arrays.toString(first.shape())
                        + " chunks " + Arrays.toString(first.chunkShape()) + ": they cannot be stacked");
            }
        }
    }

    /** The stacked schema of {@code array} (its name in the store): a leading dataset axis of chunk 1. */
    private static ArraySchema stacked(Stack st, String array, ArraySchema s) {
        List<String> dims = new ArrayList<>();
        dims.add(st.coordinate());
        dims.addAll(ZarrMetadata.dimensionNames(array, s));
        long[] shape = new long[s.rank() + 1];
        long[] chunks = new long[s.rank() + 1];
        shape[0] = st.datasets().size();
        chunks[0] = 1;
        System.arraycopy(s.shape(), 0, shape, 1, s.rank());
        System.arraycopy(ZarrMetadata.chunks(s), 0, chunks, 1, s.rank());
        return new ArraySchema(s.dtype(), shape, chunks, dims, s.codec());
    }

    /** The stacked array's Zarr description (fill value and attributes of the first dataset). */
    private Mono<ZArray> zarray(Stack st, String array) {
        ArraySchema s = st.arrays().get(array);
        String source = st.source().get(array);
        DatasetView first = atlas.dataset(st.datasets().get(0));
        return ZarrRoutes.zarray(first, source, s).map(a -> new ZArray(array, stacked(st, source, s), a.fill(),
                a.attributes()));
    }

    /** The stack of the selection {@code key} with its array (or coordinate) {@code array}: 404 when not every dataset declares it. */
    private Stack stackWith(String key, String array) {
        Stack st = stack(key);
        Params.name(array, "array");
        if (!array.equals(st.coordinate()) && !st.arrays().containsKey(array)) {
            throw ApiError.notFound("the stack of " + st.label() + " has no array '" + array
                    + "' (an array is stacked when every dataset of the selection declares it, with a Zarr form)", "array");
        }
        return st;
    }

    // ------------------------------------------------------------------ handlers

    /** {@code GET /zarr/v2/_stack/{prefix}/.zgroup}. */
    Mono<Reply> group(AtlasRoutes.Call call) {
        stack(call.path(param()));
        return zarr.answer(call, ZarrRoutes.JSON, Mono.fromCallable(() -> Json.renderAscii(ZarrMetadata::v2Group)));
    }

    /** {@code GET /zarr/v2/_stack/{prefix}/.zattrs}: {@code stack_prefix}, {@code stack_datasets}. */
    Mono<Reply> groupAttrs(AtlasRoutes.Call call) {
        Stack st = stack(call.path(param()));
        return zarr.answer(call, ZarrRoutes.JSON, Mono.fromCallable(() -> Json.renderAscii(g -> ZarrMetadata.groupAttrs(g,
                st.attributes()))));
    }

    /** {@code GET /zarr/v2/_stack/{prefix}/.zmetadata}: every stacked array and the coordinate. */
    Mono<Reply> consolidated(AtlasRoutes.Call call) {
        Stack st = stack(call.path(param()));
        int width = ZarrMetadata.namesWidth(st.datasets());
        Mono<byte[]> body = Flux.fromIterable(st.arrays().keySet()).concatMap(a -> zarray(st, a)).collectList()
                .map(list -> ZarrMetadata.v2Consolidated(st.attributes(), list, zarr.zstdLevel(), g -> {
                    g.writeFieldName(st.coordinate() + "/.zarray");
                    ZarrMetadata.v2NamesArray(g, st.datasets().size(), width);
                    g.writeFieldName(st.coordinate() + "/.zattrs");
                    coordinateAttrs(g, st);
                }));
        return zarr.answer(call, ZarrRoutes.JSON, body);
    }

    private static void coordinateAttrs(com.fasterxml.jackson.core.JsonGenerator g, Stack st) throws java.io.IOException {
        g.writeStartObject();
        g.writeStringField("long_name", "dataset name");
        Json.strings(g, ZarrMetadata.ARRAY_DIMENSIONS, List.of(st.coordinate()));
        g.writeEndObject();
    }

    /** {@code GET /zarr/v2/_stack/{prefix}/{array}/.zarray}. */
    Mono<Reply> array(AtlasRoutes.Call call) {
        String array = call.path("array");
        Stack st = stackWith(call.path(param()), array);
        if (array.equals(st.coordinate())) {
            int width = ZarrMetadata.namesWidth(st.datasets());
            return zarr.answer(call, ZarrRoutes.JSON, Mono.fromCallable(() -> Json.renderAscii(g ->
                    ZarrMetadata.v2NamesArray(g, st.datasets().size(), width))));
        }
        return zarr.answer(call, ZarrRoutes.JSON, zarray(st, array).map(a -> Json.renderAscii(g ->
                ZarrMetadata.v2Array(g, a, zarr.zstdLevel()))));
    }

    /** {@code GET /zarr/v2/_stack/{prefix}/{array}/.zattrs}. */
    Mono<Reply> arrayAttrs(AtlasRoutes.Call call) {
        String array = call.path("array");
        Stack st = stackWith(call.path(param()), array);
        if (array.equals(st.coordinate())) {
            return zarr.answer(call, ZarrRoutes.JSON, Mono.fromCallable(() -> Json.renderAscii(g -> coordinateAttrs(g, st))));
        }
        return zarr.answer(call, ZarrRoutes.JSON, zarray(st, array).map(a -> Json.renderAscii(g ->
                ZarrMetadata.v2ArrayAttrs(g, a))));
    }

    /** {@code GET /zarr/v2/_stack/{prefix}/{array}/{chunk}}: chunk {@code d.i.j.k} is chunk {@code i.j.k} of the d-th dataset. */
    Mono<Reply> chunk(AtlasRoutes.Call call) {
        return chunk(call, false);
    }

    private Mono<Reply> chunk(AtlasRoutes.Call call, boolean v3) {
        String array = call.path("array");
        Stack st = v3 ? stackWithV3(call.path(param()), array) : stackWith(call.path(param()), array);
        String key = call.path("chunk");
        if (!v3 && array.equals(st.coordinate())) {
            if (!key.equals("0")) {
                throw noKey(st, array, key);
            }
            int width = ZarrMetadata.namesWidth(st.datasets());
            return zarr.answer(call, ZarrRoutes.OCTETS, Mono.fromCallable(() -> ZarrMetadata.namesChunk(st.datasets(),
                    width)));
        }
        ArraySchema s = st.arrays().get(array);
        long[] index = ZarrChunks.parseKey(key, s.rank() + 1, v3 ? "c" : "");
        ZarrChunks.Box inner = null;
        if (index != null && index[0] < st.datasets().size()) {
            inner = ZarrChunks.box(s.shape(), ZarrMetadata.chunks(s), Arrays.copyOfRange(index, 1, index.length));
        }
        if (inner == null) {
            throw v3 ? ApiError.notFound("array '" + array + "' of the stack of " + st.label() + " has no key '"
                    + key + "' (chunks are c.d.i.j.k within the chunk grid)", "chunk") : noKey(st, array, key);
        }
        String dataset = st.datasets().get((int) index[0]);
        Mono<byte[]> fill = inner.whole() || ZarrMetadata.variableLength(s.dtype()) ? Mono.just(new byte[0])
                : zarray(st, array).map(ZarrMetadata::fillElement);
        return zarr.answer(call, ZarrRoutes.OCTETS, zarr.readChunk(dataset, st.source().get(array), s, inner, fill));
    }

    private static ApiError noKey(Stack st, String array, String key) {
        return ApiError.notFound("array '" + array + "' of the stack of " + st.label() + " has no key '" + key
                + "' (chunks are d.i.j.k within the chunk grid)", "chunk");
    }

    // ------------------------------------------------------------------ v3

    /** The stack and its array {@code array} with a v3 form (404 otherwise; the v3 stack has no coordinate array). */
    private Stack stackWithV3(String key, String array) {
        Stack st = stack(key);
        Params.name(array, "array");
        ArraySchema s = st.arrays().get(array);
        if (s == null || !ZarrMetadata.served(s.dtype(), true)) {
            throw ApiError.notFound("the v3 stack of " + st.label() + " has no array '" + array + "' ("
                    + (s != null ? ZarrMetadata.notInV3(s.dtype()) : "an array is stacked when every dataset of the"
                    + " selection declares it, with a Zarr form; the dataset names are the group attribute "
                    + NAMES_ATTRIBUTE) + ")", "array");
        }
        return st;
    }

    /** Attribute of a v3 stack group naming its datasets in order (v3 has no string array zarr-java reads). */
    static final String NAMES_ATTRIBUTE = "stack_dataset_names";

    /**
     * {@code GET /zarr/v3/_stack/{prefix}/zarr.json}: the group, every stacked array with a v3 form
     * consolidated inline; the dataset names in order are its attribute {@value #NAMES_ATTRIBUTE}.
     */
    Mono<Reply> v3Group(AtlasRoutes.Call call) {
        Stack st = stack(call.path(param()));
        Map<String, String> omitted = new LinkedHashMap<>();
        List<String> served = new ArrayList<>();
        st.arrays().forEach((a, s) -> {
            String why = ZarrMetadata.notInV3(s.dtype());
            if (why == null) {
                served.add(a);
            } else {
                omitted.put(a, why);
            }
        });
        Mono<byte[]> body = Flux.fromIterable(served).concatMap(a -> zarray(st, a)).collectList()
                .map(list -> ZarrMetadata.v3Group(st.attributes(), list, zarr.zstdLevel(), omitted,
                        g -> Json.strings(g, NAMES_ATTRIBUTE, st.datasets())));
        return zarr.answer(call, ZarrRoutes.JSON, body);
    }

    /** {@code GET /zarr/v3/_stack/{prefix}/{array}/zarr.json}. */
    Mono<Reply> v3Array(AtlasRoutes.Call call) {
        String array = call.path("array");
        Stack st = stackWithV3(call.path(param()), array);
        return zarr.answer(call, ZarrRoutes.JSON, zarray(st, array).map(a -> Json.renderAscii(g ->
                ZarrMetadata.v3Array(g, a, zarr.zstdLevel()))));
    }

    /** {@code GET /zarr/v3/_stack/{prefix}/{array}/{chunk}}: chunk {@code c.d.i.j.k} is chunk {@code i.j.k} of the d-th dataset. */
    Mono<Reply> v3Chunk(AtlasRoutes.Call call) {
        return chunk(call, true);
    }
}
