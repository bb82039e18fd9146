package dev.atlas.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.atlas.array.NdArray;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.http.region.Region;
import dev.atlas.format.DType;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.ArrayPin;
import dev.atlas.store.Atlas;
import dev.atlas.store.DatasetView;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Array data: one dataset's region ({@code /datasets/{ds}/arrays/{arr}/data}) and the same region
 * across many datasets ({@code /arrays/{arr}/data}), as little-endian C-order bytes or JSON.
 *
 * <p>Streaming: the region is cut into {@link Pieces} (boxes of about
 * {@link ServerOptions#streamPieceBytes()} whose bytes follow each other in C order); each piece is
 * one engine read ({@code DatasetView.readArray}, whose chunks are fetched and decompressed
 * concurrently on the engine's schedulers), and the next piece is read only after the previous one
 * was handed to the transport and (on a Netty-based server, {@link RouteExchange#channel()}) the
 * connection is writable. Reading the region's fragments
 * ({@code readFragments}) would deliver chunks in completion order, so writing C order from them
 * needs the whole region (or a reorder buffer as large as a chunk row) in memory; whole pieces in
 * sequence keep memory at one piece per connection whatever the client's speed.
 *
 * <p>Status: the first piece is read before the status line goes out ({@link StreamedBody}), so a
 * read that fails at once is answered with its error status; only a failure after it cuts a stream.
 *
 * <p>Buffer ownership: each piece's {@link NdArray} is closed as soon as its buffer is taken (one
 * retained reference); the first piece's reference is held by {@link StreamedBody} until the status
 * line is sent, and every reference is then handed to the transport through the {@link Reply}'s
 * stream (reactor-netty's {@code send}, directly or under WebFlux), which releases it once written,
 * or on cancel (a client that disconnects) through the discard hook that reactor-netty installs for
 * the buffers it has requested. Nothing here adds a second ByteBuf
 * discard hook (it would release twice). NdArrays a cancel catches before they became buffers are
 * closed by this class's {@code NdArray} discard hook and by the engine's own cancel handling.
 */
final class DataRoutes {
    /** How often a stream waiting for its connection to drain checks writability. */
    static final Duration WRITABLE_POLL = Duration.ofMillis(2);
    /** Datasets one piece of a bulk stream reads together at most. */
    static final int MAX_BULK_BATCH = 256;

    private final Atlas atlas;
    private final ServerOptions options;
    private final ServerMetrics metrics;
    private final Scheduler timer;

    DataRoutes(Atlas atlas, ServerOptions options, ServerMetrics metrics, Scheduler timer) {
        this.atlas = atlas;
        this.options = options;
        this.metrics = metrics;
        this.timer = timer;
    }

    private enum Format { BINARY, JSON }

    private static Format format(Map<String, List<String>> query) {
        String f = Params.single(query, "format");
        if (f == null || f.equals("binary")) {
            return Format.BINARY;
        }
        if (f.equals("json")) {
            return Format.JSON;
        }
        throw ApiError.badParameter("format", "format '" + f + "' is not one of binary, json");
    }

    /** {@code GET /datasets/{dataset}/arrays/{array}/data}. */
    Mono<Reply> region(AtlasRoutes.Call call) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        String array = call.path("array");
        ArraySchema schema = Catalog.schema(view, array);
        Region r = Params.region(call.query(), schema.shape());
        Format format = format(call.query());
        long n = Params.elements(schema, r);
        if (n > options.maxElementsPerRequest()) {
            throw ApiError.tooLarge("region", "region " + Params.describe(r) + " has " + n + " elements; the limit per request is "
                    + options.maxElementsPerRequest());
        }
        DType dtype = schema.dtype();
        if (format == Format.JSON) {
            if (n > options.maxJsonElements()) {
                throw ApiError.tooLarge("region", "region " + Params.describe(r) + " has " + n + " elements; JSON responses carry at most "
                        + options.maxJsonElements() + " (use the binary format)");
            }
            Mono<byte[]> body = view.readArray(array, r.start(), r.shape())
                    .switchIfEmpty(Mono.error(() -> ApiError.notFound("dataset '" + view.name() + "' has no array '"
                            + array + "'", "array")))
                    .map(a -> {
                        try (a) {
                            return Json.render(g -> {
                                g.writeStartObject();
                                g.writeStringField("dataset", view.name());
                                g.writeStringField("array", array);
                                g.writeStringField("dtype", dtype.toString());
                                Json.longs(g, "start", r.start());
                                Json.longs(g, "shape", r.shape());
                                g.writeFieldName("values");
                                Json.values(g, a);
                                g.writeEndObject();
                            });
                        }
                    });
            return Catalog.json(body, call, timer);
        }
        requireFixedWidth(dtype);
        long bytes = n * dtype.elementSize();
        long target = Math.max(1, options.streamPieceBytes() / dtype.elementSize());
        Flux<Region> pieces = Flux.fromIterable(new Pieces(r, schema.chunkShape(), target));
        // Every piece of one response from one committed state of the array file; when the first
        // piece finds that state's objects replaced (a compaction elsewhere), nothing was sent
        // yet: pin the newest state and start again (the later pieces use the pin that worked).
        AtomicReference<Mono<ArrayPin>> pin = new AtomicReference<>(atlas.pin(array).cache());
        Function<Region, Mono<NdArray>> read = p -> pin.get().flatMap(x -> x.readArray(view.name(), p.start(), p.shape()))
                .switchIfEmpty(Mono.error(() -> new ArrayNotFoundException("dataset '" + view.name()
                        + "' has no array '" + array + "'")));
        return stream(call, pieces, read, out -> headers(out, dtype, r.shape(), r.start(), bytes),
                () -> pin.set(atlas.pin(array).cache()));
    }

    private static void requireFixedWidth(DType dtype) {
        if (dtype.elementSize() <= 0) {
            throw ApiError.badParameter("format", dtype + " elements have no fixed-width binary form; use format=json");
        }
    }

    private static void headers(HttpHeaders res, DType dtype, long[] shape, long[] start, long bytes) {
        res.set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
                .set("X-Atlas-DType", dtype.toString())
                .set("X-Atlas-Shape", join(shape))
                .set("X-Atlas-Byte-Order", "little-endian")
                .set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(bytes));
        if (start != null) {
            res.set("X-Atlas-Start", join(start));
        }
    }

    static String join(long[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            sb.append(i == 0 ? "" : ",").append(v[i]);
        }
        return sb.toString();
    }

    /**
     * The response: one engine read per piece, in order; the first is read before the status line
     * ({@link StreamedBody}), each later one starts only once the connection is writable (see the
     * class comment for ownership).
     *
     * @param pieces what to read, in body order; subscribed twice (the first piece, then the rest),
     *     so it must be a cold sequence that yields the same pieces each time
     */
    private <P> Mono<Reply> stream(AtlasRoutes.Call call, Flux<P> pieces,
            Function<P, Mono<NdArray>> read, Consumer<HttpHeaders> headers) {
        return stream(call, pieces, read, headers, null);
    }

    /**
     * As above; {@code repin} (or null) moves {@code read} to the newest committed state: called,
     * up to 3 times, when the first piece fails because objects of its state were replaced.
     */
    private <P> Mono<Reply> stream(AtlasRoutes.Call call, Flux<P> pieces,
            Function<P, Mono<NdArray>> read, Consumer<HttpHeaders> headers, Runnable repin) {
        Channel channel = call.exchange().channel();
        Mono<ByteBuf> first = pieces.next().flatMap(p -> piece(p, read, call));
        if (repin != null) {
            first = first.retryWhen(reactor.util.retry.Retry.max(3)
                    .filter(dev.atlas.error.ObjectChangedException.class::isInstance)
                    .doBeforeRetry(sig -> repin.run())
                    .onRetryExhaustedThrow((spec, sig) -> sig.failure()));
        }
        Flux<ByteBuf> rest = pieces.skip(1).concatMap(p -> writable(channel).then(piece(p, read, call)));
        return StreamedBody.reply(call, metrics, first, rest, headers);
    }

    /**
     * One piece as a buffer: its NdArray is closed as soon as its buffer is taken.
     *
     * @return a buffer holding one reference the subscriber owns and releases
     */
    private <P> Mono<ByteBuf> piece(P p, Function<P, Mono<NdArray>> read, AtlasRoutes.Call call) {
        return Mono.defer(() -> {
                    if (call.remainingNanos() <= 0) {
                        return Mono.error(new TimeoutException("request timed out after " + options.requestTimeout()
                                + " while streaming"));
                    }
                    metrics.piece();
                    // A read that outlives the request (a storage call lost without an answer) is
                    // answered (503 before the first piece, a cut stream after it), not left hanging;
                    // the cancel releases whatever the read holds.
                    return read.apply(p).timeout(Duration.ofNanos(call.remainingNanos()),
                            Mono.error(() -> new TimeoutException("request timed out after " + options.requestTimeout()
                                    + ": a read did not finish")));
                })
                .map(a -> {
                    try (a) {
                        ByteBuf b = a.data();
                        b.retain();                         // ours; the NdArray's reference goes with close()
                        return b;
                    }
                })
                .doOnDiscard(NdArray.class, NdArray::close);
    }

    /** Completes when {@code ch} can take more bytes (or is closed: the send then ends the stream). */
    private Mono<Void> writable(Channel ch) {
        if (ch == null) {
            return Mono.empty();
        }
        return Mono.fromCallable(() -> ch.isWritable() || !ch.isActive())
                .filter(Boolean::booleanValue)
                .repeatWhenEmpty(attempts -> attempts.concatMap(i -> Mono.delay(WRITABLE_POLL, timer)))
                .then();
    }

    // ------------------------------------------------------------------ bulk

    /** {@code GET /arrays/{array}/data?datasets=a,b|prefix=p[&limit=n]} and {@code POST} with {@code {"datasets":[...]}}. */
    Mono<Reply> bulk(AtlasRoutes.Call call) {
        String array = Params.name(call.path("array"), "array");
        Mono<Optional<List<String>>> named = call.exchange().method().equals(HttpMethod.POST)
                ? body(call).map(b -> Optional.of(datasetsFromBody(b)))
                : Mono.fromCallable(() -> datasetsNamedInQuery(call));
        // The dataset list (a prefix selection included) and every row come from one committed
        // state of the store: one pin of the array's registry entries and file state.
        // When the first piece finds the pinned state's objects replaced (a compaction elsewhere),
        // nothing was sent yet: pin the newest state and answer from it (list and rows anew).
        return named.flatMap(list -> Mono.defer(() -> atlas.pin(array)
                .onErrorMap(ArrayNotFoundException.class, e -> noSuchArray(call, array, list.orElse(null)))
                .flatMap(pin -> bulk(call, array, list.orElseGet(() -> datasetsWithPrefix(call, array, pin)), pin)))
                .retryWhen(reactor.util.retry.Retry.max(3)
                        .filter(e -> e instanceof dev.atlas.error.ObjectChangedException && !call.exchange().committed())
                        .onRetryExhaustedThrow((spec, sig) -> sig.failure())));
    }

    /** The 404 of a bulk read of an array no dataset declares: naming the first dataset that is missing or lacks it. */
    private RuntimeException noSuchArray(AtlasRoutes.Call call, String array, List<String> named) {
        if (named == null) {
            return ApiError.notFound("no dataset with prefix '" + Params.single(call.query(), "prefix") + "' declares array '"
                    + array + "'", "prefix");
        }
        for (String ds : named) {
            Catalog.view(atlas, ds); // 404 naming the dataset when it is not registered
        }
        return ApiError.notFound("dataset '" + (named.isEmpty() ? "" : named.get(0)) + "' has no array '" + array + "'",
                "datasets");
    }

    private Mono<byte[]> body(AtlasRoutes.Call call) {
        String length = call.exchange().header(HttpHeaderNames.CONTENT_LENGTH);
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > AtlasRoutes.MAX_BODY_BYTES) {
                    return Mono.error(ApiError.tooLarge("body", "request body larger than "
                            + AtlasRoutes.MAX_BODY_BYTES + " bytes"));
                }
            } catch (NumberFormatException e) {
                return Mono.error(ApiError.badParameter("body", "bad Content-Length"));
            }
        }
        // The exchange copies each received chunk to the heap and releases its own buffer.
        return call.exchange().receive()
                .reduce(new ByteArrayOutputStream(), (out, chunk) -> {
                    if (out.size() + chunk.length > AtlasRoutes.MAX_BODY_BYTES) {
                        throw ApiError.tooLarge("body", "request body larger than " + AtlasRoutes.MAX_BODY_BYTES + " bytes");
                    }
                    out.write(chunk, 0, chunk.length);
                    return out;
                })
                .map(ByteArrayOutputStream::toByteArray);
    }

    /** {@code {"datasets": ["a", "b", ...]}}. */
    private static List<String> datasetsFromBody(byte[] body) {
        List<String> out = new ArrayList<>();
        try (JsonParser p = Json.FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw ApiError.badParameter("body", "the body must be a JSON object {\"datasets\": [...]}");
            }
            boolean seen = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if (field.equals("datasets")) {
                    if (t != JsonToken.START_ARRAY) {
                        throw ApiError.badParameter("datasets", "datasets must be an array of names");
                    }
                    seen = true;
                    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                        if (t != JsonToken.VALUE_STRING) {
                            throw ApiError.badParameter("datasets", "datasets must be an array of names");
                        }
                        out.add(p.getText());
                    }
                } else {
                    throw ApiError.badParameter("body", "unknown field '" + field + "' (region, format: query parameters)");
                }
            }
            if (!seen) {
                throw ApiError.badParameter("datasets", "the body names no datasets");
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw ApiError.badParameter("body", "the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.badParameter("body", "the body could not be read: " + e.getMessage());
        }
        return out;
    }

    /** The datasets a query names ({@code datasets=a,b}), or empty for a prefix selection; checks the parameters. */
    private static Optional<List<String>> datasetsNamedInQuery(AtlasRoutes.Call call) {
        String list = Params.single(call.query(), "datasets");
        String prefix = Params.single(call.query(), "prefix");
        String limit = Params.single(call.query(), "limit");
        if ((list == null) == (prefix == null)) {
            throw ApiError.badParameter("datasets", "give datasets=a,b,... or prefix=..., exactly one of them");
        }
        if (list != null) {
            if (limit != null) {
                throw ApiError.badParameter("limit", "limit applies to prefix selections only");
            }
            return Optional.of(List.of(list.split(",", -1)));
        }
        return Optional.empty();
    }

    /** The datasets of the pinned state whose names start with the query's prefix and declare the array. */
    private List<String> datasetsWithPrefix(AtlasRoutes.Call call, String array, ArrayPin pin) {
        String prefix = Params.single(call.query(), "prefix");
        String limit = Params.single(call.query(), "limit");
        long max = limit == null ? options.maxDatasetsPerBulk()
                : Params.integer(limit, "limit", 1, options.maxDatasetsPerBulk());
        List<String> out = new ArrayList<>();
        for (String ds : pin.datasets()) {
            if (ds.startsWith(prefix)) {
                out.add(ds);
                if (out.size() == max) {
                    break;
                }
            }
        }
        if (out.isEmpty()) {
            throw ApiError.notFound("no dataset with prefix '" + prefix + "' declares array '" + array + "'", "prefix");
        }
        return out;
    }

    private Mono<Reply> bulk(AtlasRoutes.Call call, String array, List<String> datasets,
            ArrayPin pin) {
        if (datasets.isEmpty()) {
            throw ApiError.badParameter("datasets", "no datasets named");
        }
        if (datasets.size() > options.maxDatasetsPerBulk()) {
            throw ApiError.tooLarge("datasets", datasets.size() + " datasets named; the limit is "
                    + options.maxDatasetsPerBulk());
        }
        List<ArraySchema> schemas = new ArrayList<>(datasets.size());

        Set<String> seen = new HashSet<>();
        for (String ds : datasets) {
            Params.name(ds, "datasets");
            if (!seen.add(ds)) {
                throw ApiError.badParameter("datasets", "dataset '" + ds + "' is named twice");
            }
            if (!pin.hasDataset(ds)) {
                throw ApiError.notFound("no dataset '" + ds + "'", "dataset");
            }
            schemas.add(pin.schema(ds).orElseThrow(() -> ApiError.notFound("dataset '" + ds + "' has no array '"
                    + array + "'", "datasets")));
        }
        ArraySchema first = schemas.get(0);
        Region r = Params.region(call.query(), first.shape());
        for (int i = 1; i < schemas.size(); i++) {
            long[] shape = schemas.get(i).shape();
            if (shape.length != r.shape().length || r.axisOutside(shape) >= 0) {
                throw ApiError.badParameter("region", "region " + Params.describe(r) + " lies outside dataset '" + datasets.get(i)
                        + "' (shape " + Arrays.toString(shape) + ")");
            }
        }
        long per = Params.elements(first, r);
        if (per > options.maxElementsPerRequest()) {
            throw ApiError.tooLarge("region", "region " + Params.describe(r) + " has " + per + " elements; the limit per dataset is "
                    + options.maxElementsPerRequest());
        }
        long total;
        try {
            total = Math.multiplyExact(per, datasets.size());
        } catch (ArithmeticException e) {
            total = Long.MAX_VALUE;
        }
        if (total > options.maxElementsPerResponse()) {
            throw ApiError.tooLarge("datasets", datasets.size() + " datasets x " + per + " elements = " + total
                    + " elements; the limit per response is " + options.maxElementsPerResponse());
        }
        DType dtype = first.dtype();
        long[] outShape = new long[r.shape().length + 1];
        outShape[0] = datasets.size();
        System.arraycopy(r.shape(), 0, outShape, 1, r.shape().length);
        if (format(call.query()) == Format.JSON) {
            if (total > options.maxJsonElements()) {
                throw ApiError.tooLarge("datasets", total + " elements; JSON responses carry at most "
                        + options.maxJsonElements() + " (use the binary format)");
            }
            Mono<byte[]> body = pin.readArrayAcrossStacked(datasets, r.start(), r.shape())
                    .map(a -> {
                        try (a) {
                            return Json.render(g -> {
                                g.writeStartObject();
                                g.writeStringField("array", array);
                                g.writeStringField("dtype", dtype.toString());
                                Json.strings(g, "datasets", datasets);
                                Json.longs(g, "start", r.start());
                                Json.longs(g, "shape", outShape);
                                g.writeFieldName("values");
                                Json.values(g, a);
                                g.writeEndObject();
                            });
                        }
                    });
            return Catalog.json(body, call, timer);
        }
        requireFixedWidth(dtype);
        long bytes = total * dtype.elementSize();
        Consumer<HttpHeaders> headers = out -> headers(out, dtype, outShape, r.start(), bytes);
        long rowBytes = per * dtype.elementSize();
        if (rowBytes <= options.streamPieceBytes()) {
            // Small regions: batches of datasets, each one stacked read (planned once for the batch,
            // with the store's ioConcurrency and cpuConcurrency inside; rows land in request order
            // in one buffer).
            int batch = (int) Math.max(1, Math.min(MAX_BULK_BATCH, options.streamPieceBytes() / Math.max(1, rowBytes)));
            List<List<String>> batches = new ArrayList<>();
            for (int i = 0; i < datasets.size(); i += batch) {
                batches.add(datasets.subList(i, Math.min(datasets.size(), i + batch)));
            }
            return stream(call, Flux.fromIterable(batches),
                    b -> pin.readArrayAcrossStacked(b, r.start(), r.shape()), headers);
        }
        // Large regions: dataset after dataset, each in pieces like a single-dataset read.
        long target = Math.max(1, options.streamPieceBytes() / dtype.elementSize());
        Flux<DatasetPiece> pieces = Flux.range(0, datasets.size()).concatMap(i -> Flux.fromIterable(
                new Pieces(r, schemas.get(i).chunkShape(), target)).map(p -> new DatasetPiece(datasets.get(i), p)));
        return stream(call, pieces, p -> pin.readArray(p.dataset(), p.region().start(), p.region().shape())
                .switchIfEmpty(Mono.error(() -> new ArrayNotFoundException("dataset '" + p.dataset()
                        + "' has no array '" + array + "'"))), headers);
    }

    /** One piece of a bulk stream that reads dataset after dataset. */
    private record DatasetPiece(String dataset, Region region) {
    }
}
