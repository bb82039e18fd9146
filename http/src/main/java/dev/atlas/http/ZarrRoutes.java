package dev.atlas.http;

import com.github.luben.zstd.Zstd;
import dev.atlas.array.NdArray;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.http.ZarrMetadata.ZArray;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.Atlas;
import dev.atlas.store.DatasetMeta;
import dev.atlas.store.DatasetView;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;

/**
 * Read-only Zarr views of every dataset, so that Zarr clients (xarray, zarr-python, zarr-java)
 * open a dataset by URL with no Atlas code: a dataset is a group, each of its arrays with a Zarr form
 * a Zarr array whose chunk grid is ours ({@link ZarrMetadata} says how dtypes, fill values,
 * dimension names and attributes map).
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>path</th><th>answer</th></tr>
 * <tr><td>{@code /zarr/v2/{ds}/.zgroup}, {@code .zattrs}, {@code .zmetadata}</td><td>the group, its attributes, the consolidated metadata of every array</td></tr>
 * <tr><td>{@code /zarr/v2/{ds}/{arr}/.zarray}, {@code .zattrs}</td><td>the array (raw chunks: {@code compressor} null), its attributes with {@code _ARRAY_DIMENSIONS}</td></tr>
 * <tr><td>{@code /zarr/v2/{ds}/{arr}/{i.j.k}}</td><td>one chunk</td></tr>
 * <tr><td>{@code /zarr/v3/{ds}/zarr.json}</td><td>the group with its arrays' metadata consolidated inline</td></tr>
 * <tr><td>{@code /zarr/v3/{ds}/{arr}/zarr.json}</td><td>the array (codec {@code bytes}, little-endian)</td></tr>
 * <tr><td>{@code /zarr/v3/{ds}/{arr}/c.{i.j.k}}</td><td>one chunk (chunk key encoding {@code default} with separator {@code "."})</td></tr>
 * </table>
 *
 * <p>Two encodings of every key, since Zarr has no per-request codec negotiation (a client reads
 * the codec from the metadata): under {@code /zarr/v2/} and {@code /zarr/v3/} chunks are raw
 * (the default: on a LAN or a fast link, raw chunks cost no CPU on either side); under
 * {@code /zarr/v2-zstd/} and {@code /zarr/v3-zstd/} the same keys declare a zstd compressor (v2
 * {@code "compressor": {"id": "zstd", "level": N}}, v3 codecs {@code [bytes, zstd]}) and each
 * chunk is one zstd frame, for clients on slow links. Their ETags differ (the path is part of it).
 *
 * <p>Chunks: a chunk is one engine read of the chunk's cells (one {@link Atlas#pin pin} per
 * request, through the engine's block caches), as little-endian C-order bytes of the full chunk
 * shape: an edge chunk's cells beyond the array hold the fill value, as Zarr requires. Unwritten
 * chunks are answered with their fill-valued bytes, not 404 (the engine offers no cheap "was this
 * chunk written" test; Zarr reads both alike). A chunk is copied once to the heap (the padding
 * and {@code Range} need it contiguous), and its engine buffer released at once; a chunk larger
 * than {@link ServerOptions#maxElementsPerRequest()} is answered 413.
 *
 * <p>HTTP: every key answers {@code HEAD}, single {@code Range} requests ({@code bytes=a-b},
 * {@code bytes=a-}, suffix {@code bytes=-n}: 206 with {@code Content-Range}; past the end: 416;
 * several ranges: the whole body), {@code ETag} (a digest of the served commit's version and the
 * path) with {@code If-None-Match} (304, answered without reading) and {@code If-Range}. The
 * answers carry {@code Cache-Control: public, no-cache}: a CDN may keep a chunk and must
 * revalidate it, which costs a 304 while the commit stands. An answer during which the store moved
 * to another commit carries no ETag and {@code Cache-Control: no-store}. A served handle with
 * writes not yet flushed answers them before they are committed: the ETag then names the last
 * commit, not what was read; serve committed stores.
 */
final class ZarrRoutes {
    /** What every answer of a committed state lets caches do: keep it, revalidate before use (a 304 while the commit stands). */
    static final String CACHE_CONTROL = "public, no-cache";
    /** Retries of a chunk read that met a compaction elsewhere (each with a fresh pin). */
    static final int CHANGED_RETRIES = 3;
    /** Suffix of the views whose chunks are recompressed with zstd ({@code /zarr/v2-zstd}, {@code /zarr/v3-zstd}). */
    static final String ZSTD_VARIANT = "-zstd";
    /**
     * The zstd level of those views: 1, chosen by measurement (benchmarks/RESULTS.md, "Zarr over
     * HTTP"); {@code -Datlas.zarr.zstdLevel=N} (1..19) sets another, for measurements.
     */
    static final int ZSTD_LEVEL = Math.max(1, Math.min(19, Integer.getInteger("atlas.zarr.zstdLevel", 1)));
    static final String JSON = "application/json";
    static final String OCTETS = "application/octet-stream";

    private final Atlas atlas;
    private final ServerOptions options;
    private final ServerMetrics metrics;
    private final Scheduler timer;
    private final int zstdLevel;

    /**
     * The views with raw chunks ({@code zstdLevel} 0: {@code /zarr/v2}, {@code /zarr/v3}) or with
     * chunks recompressed by zstd at {@code zstdLevel} ({@code /zarr/v2-zstd}, {@code /zarr/v3-zstd}).
     */
    ZarrRoutes(Atlas atlas, ServerOptions options, ServerMetrics metrics, Scheduler timer, int zstdLevel) {
        this.atlas = atlas;
        this.options = options;
        this.metrics = metrics;
        this.timer = timer;
        this.zstdLevel = zstdLevel;
    }

    /** The zstd level chunks are recompressed with, 0 for raw chunks. */
    int zstdLevel() {
        return zstdLevel;
    }

    // ------------------------------------------------------------------ v2

    /** {@code GET /zarr/v2/{dataset}/.zgroup}. */
    Mono<Reply> v2Group(AtlasRoutes.Call call) {
        Catalog.view(atlas, call.path("dataset"));
        return answer(call, JSON, Mono.fromCallable(() -> Json.renderAscii(ZarrMetadata::v2Group)));
    }

    /** {@code GET /zarr/v2/{dataset}/.zattrs}. */
    Mono<Reply> v2GroupAttrs(AtlasRoutes.Call call) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        return answer(call, JSON, Mono.fromCallable(() -> Json.renderAscii(g -> ZarrMetadata.groupAttrs(g,
                view.meta().attributes()))));
    }

    /** {@code GET /zarr/v2/{dataset}/.zmetadata}. */
    Mono<Reply> v2Consolidated(AtlasRoutes.Call call) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        DatasetMeta meta = view.meta();
        return answer(call, JSON, arrays(view, meta, false)
                .map(list -> ZarrMetadata.v2Consolidated(meta.attributes(), list, zstdLevel)));
    }

    /** {@code GET /zarr/v2/{dataset}/{array}/.zarray}. */
    Mono<Reply> v2Array(AtlasRoutes.Call call) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        ArraySchema schema = describedSchema(view, call.path("array"), false);
        return answer(call, JSON, zarray(view, call.path("array"), schema)
                .map(a -> Json.renderAscii(g -> ZarrMetadata.v2Array(g, a, zstdLevel))));
    }

    /** {@code GET /zarr/v2/{dataset}/{array}/.zattrs}. */
    Mono<Reply> v2ArrayAttrs(AtlasRoutes.Call call) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        ArraySchema schema = describedSchema(view, call.path("array"), false);
        return answer(call, JSON, zarray(view, call.path("array"), schema)
                .map(a -> Json.renderAscii(g -> ZarrMetadata.v2ArrayAttrs(g, a))));
    }

    /** {@code GET /zarr/v2/{dataset}/{array}/{chunk}}: chunk {@code i.j.k}; any other key is 404. */
    Mono<Reply> v2Chunk(AtlasRoutes.Call call) {
        return chunk(call, "", false);
    }

    // ------------------------------------------------------------------ v3

    /** {@code GET /zarr/v3/{dataset}/zarr.json}: the group with every array's metadata inline. */
    Mono<Reply> v3Group(AtlasRoutes.Call call) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        DatasetMeta meta = view.meta();
        Map<String, String> omitted = new LinkedHashMap<>();
        meta.arrays().forEach((a, s) -> {
            String why = ZarrMetadata.notInV3(s.dtype());
            if (why != null) {
                omitted.put(a, why);
            }
        });
        return answer(call, JSON, arrays(view, meta, true).map(list -> ZarrMetadata.v3Group(meta.attributes(), list,
                zstdLevel, omitted, null)));
    }

    /** {@code GET /zarr/v3/{dataset}/{array}/zarr.json}. */
    Mono<Reply> v3Array(AtlasRoutes.Call call) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        ArraySchema schema = describedSchema(view, call.path("array"), true);
        return answer(call, JSON, zarray(view, call.path("array"), schema)
                .map(a -> Json.renderAscii(g -> ZarrMetadata.v3Array(g, a, zstdLevel))));
    }

    /** {@code GET /zarr/v3/{dataset}/{array}/{chunk}}: chunk {@code c.i.j.k}; any other key is 404. */
    Mono<Reply> v3Chunk(AtlasRoutes.Call call) {
        return chunk(call, "c", true);
    }

    // ------------------------------------------------------------------ shared

    /** The schema of a served array (404 when missing or of a dtype without a Zarr form in that version). */
    static ArraySchema servedSchema(DatasetView view, String array, boolean v3) {
        ArraySchema schema = Catalog.schema(view, array);
        if (!ZarrMetadata.served(schema.dtype(), v3)) {
            throw ApiError.notFound("array '" + array + "' of dataset '" + view.name() + "' is not in the Zarr "
                    + (v3 ? "v3" : "v2") + " view: " + (v3 ? ZarrMetadata.notInV3(schema.dtype())
                    : schema.dtype() + " arrays have no Zarr form"), "array");
        }
        return schema;
    }

    /**
     * {@link #servedSchema} with the dimension names the array's documents give: unambiguous within
     * its dataset ({@link ZarrMetadata#withGroupDimensions}), as in the consolidated documents.
     */
    static ArraySchema describedSchema(DatasetView view, String array, boolean v3) {
        ArraySchema schema = servedSchema(view, array, v3);
        ArraySchema described = ZarrMetadata.withGroupDimensions(view.meta().arrays()).get(array);
        return described != null ? described : schema;
    }

    /** One array's Zarr description: its fill value and attributes come from its file set. */
    static Mono<ZArray> zarray(DatasetView view, String array, ArraySchema schema) {
        return Mono.zip(view.arrayFillValue(array).map(Optional::of).defaultIfEmpty(Optional.empty()),
                        view.arrayAttributes(array))
                .map(t -> new ZArray(array, schema, t.getT1().orElse(null), t.getT2()));
    }

    /** Every array of a dataset served in the v2 ({@code v3} false) or v3 view, in its order. */
    private static Mono<java.util.List<ZArray>> arrays(DatasetView view, DatasetMeta meta, boolean v3) {
        return Flux.fromIterable(ZarrMetadata.withGroupDimensions(meta.arrays()).entrySet())
                .filter(e -> ZarrMetadata.served(e.getValue().dtype(), v3))
                .concatMap(e -> zarray(view, e.getKey(), e.getValue()))
                .collectList();
    }

    private Mono<Reply> chunk(AtlasRoutes.Call call, String prefix, boolean v3) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        String array = call.path("array");
        ArraySchema schema = servedSchema(view, array, v3);
        String key = call.path("chunk");
        long[] index = ZarrChunks.parseKey(key, schema.rank(), prefix);
        ZarrChunks.Box box = index == null ? null : ZarrChunks.box(schema.shape(), ZarrMetadata.chunks(schema), index);
        if (box == null) {
            throw ApiError.notFound("array '" + array + "' of dataset '" + view.name() + "' has no key '" + key
                    + "' (chunks are " + (prefix.isEmpty() ? "" : prefix + ".") + "i.j.k within the chunk grid)", "chunk");
        }
        Mono<byte[]> fill = box.whole() || ZarrMetadata.variableLength(schema.dtype()) ? Mono.just(new byte[0])
                : zarray(view, array, schema).map(ZarrMetadata::fillElement);
        return answer(call, OCTETS, readChunk(view.name(), array, schema, box, fill));
    }

    /**
     * One chunk's bytes (the full chunk shape, {@linkplain #encode encoded} for this view): one engine read of the box's cells from a fresh
     * pin (again, up to {@link #CHANGED_RETRIES} times, when a compaction elsewhere replaced the
     * pinned objects), copied to the heap with the padding; the engine's buffer is released at once.
     *
     * @param fill one fill element's bytes, or an empty array for a whole chunk (no padding) or
     *     variable-length elements (padded with empty items)
     */
    Mono<byte[]> readChunk(String dataset, String array, ArraySchema schema, ZarrChunks.Box box, Mono<byte[]> fill) {
        if (box.fullElements() > options.maxElementsPerRequest()) {
            // A chunk is held whole on the heap: the per-request limit of region reads applies to it.
            throw ApiError.tooLarge("chunk", "a chunk of array '" + array + "' has " + box.fullElements()
                    + " elements; the limit per request is " + options.maxElementsPerRequest());
        }
        int elem = (int) schema.dtype().elementSize();
        boolean variable = ZarrMetadata.variableLength(schema.dtype());
        return fill.flatMap(f -> atlas.pin(array)
                        .flatMap(pin -> pin.readArray(dataset, box.start(), box.shape()))
                        .switchIfEmpty(Mono.error(() -> ApiError.notFound("dataset '" + dataset + "' has no array '"
                                + array + "'", "array")))
                        .map(a -> {
                            try (a) {
                                return encode(variable ? ZarrChunks.variableLength(box, a)
                                        : ZarrChunks.padded(box, a.data(), elem, f.length == 0 ? null : f));
                            }
                        })
                        .doOnDiscard(NdArray.class, NdArray::close)
                        .retryWhen(Retry.max(CHANGED_RETRIES).filter(ObjectChangedException.class::isInstance)
                                .onRetryExhaustedThrow((spec, sig) -> sig.failure())))
                .doOnNext(b -> metrics.sent(b.length));
    }

    /** A chunk's bytes as this view serves them: as they are, or one zstd frame (with its content size, as numcodecs needs). */
    byte[] encode(byte[] raw) {
        return zstdLevel > 0 ? Zstd.compress(raw, zstdLevel) : raw;
    }

    /**
     * Answers a key: 304 when {@code If-None-Match} names the current ETag (the body is never
     * produced), else the body (or its requested range) with ETag and caching headers.
     *
     * @param body produced at most once, on the engine's threads or here; heap bytes, nothing to release
     */
    Mono<Reply> answer(AtlasRoutes.Call call, String contentType, Mono<byte[]> body) {
        String before = atlas.commitVersion();
        String etag = etag(before, call);
        String inm = call.exchange().header(HttpHeaderNames.IF_NONE_MATCH);
        if (inm != null && HttpRanges.matches(inm, etag)) {
            Reply r = Reply.empty(HttpResponseStatus.NOT_MODIFIED);
            r.headers().set(HttpHeaderNames.ETAG, etag).set(HttpHeaderNames.CACHE_CONTROL, CACHE_CONTROL);
            return Mono.just(r);
        }
        return body.timeout(Duration.ofNanos(Math.max(1, call.remainingNanos())), timer)
                .map(bytes -> {
                    boolean stable = before.equals(atlas.commitVersion());
                    String range = call.exchange().header(HttpHeaderNames.RANGE);
                    String ifRange = call.exchange().header(HttpHeaderNames.IF_RANGE);
                    long[] r = range == null || (ifRange != null && !(stable && ifRange.trim().equals(etag))) ? null
                            : HttpRanges.parse(range, bytes.length);
                    Reply reply;
                    if (r == HttpRanges.UNSATISFIABLE) {
                        reply = Reply.bytes(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "application/json",
                                Json.error("range '" + range + "' lies outside the " + bytes.length + " bytes of "
                                        + call.exchange().uri(), "Range"));
                        reply.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + bytes.length);
                        return reply;
                    }
                    if (r == null) {
                        reply = Reply.bytes(HttpResponseStatus.OK, contentType, bytes);
                    } else {
                        int from = (int) r[0];
                        int len = (int) (r[1] - r[0] + 1);
                        reply = Reply.bytes(HttpResponseStatus.PARTIAL_CONTENT, contentType,
                                java.util.Arrays.copyOfRange(bytes, from, from + len));
                        reply.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes " + r[0] + "-" + r[1] + "/" + bytes.length);
                    }
                    reply.headers().set(HttpHeaderNames.ACCEPT_RANGES, "bytes");
                    if (stable) {
                        reply.headers().set(HttpHeaderNames.ETAG, etag).set(HttpHeaderNames.CACHE_CONTROL, CACHE_CONTROL);
                    } else {
                        reply.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
                    }
                    return reply;
                });
    }

    /** A strong ETag: a digest of the commit version and the request's path (an answer's bytes depend on nothing else). */
    static String etag(String commit, AtlasRoutes.Call call) {
        String uri = call.exchange().uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest((commit + "\n" + path).getBytes(StandardCharsets.UTF_8));
            return "\"" + Json.hex(java.util.Arrays.copyOf(d, 16)) + "\"";
        } catch (NoSuchAlgorithmException e) {
            throw new dev.atlas.error.AtlasException("SHA-256 is missing from this JVM", e);
        }
    }
}
