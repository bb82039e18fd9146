package dev.atlas.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.FillValue;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.ArrayUsage;
import dev.atlas.store.Atlas;
import dev.atlas.store.DatasetMeta;
import dev.atlas.store.DatasetView;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/** The JSON catalog, /health and /metrics. Registry reads take no I/O; array details open the array's file set once. */
public final class Catalog {
    private final Atlas atlas;
    private final ServerOptions options;
    private final ServerMetrics metrics;
    private final Scheduler work;
    private final Scheduler timer;

    Catalog(Atlas atlas, ServerOptions options, ServerMetrics metrics, Scheduler work, Scheduler timer) {
        this.timer = timer;
        this.atlas = atlas;
        this.options = options;
        this.metrics = metrics;
        this.work = work;
    }

    /**
     * Sends a JSON body produced on the heap; the request timeout applies to producing it (a
     * timeout on heap bytes cannot strand a buffer; the engine releases what a cancelled read held).
     */
    static Mono<Reply> json(Mono<byte[]> body, AtlasRoutes.Call call, Scheduler timer) {
        return body.timeout(Duration.ofNanos(Math.max(1, call.remainingNanos())), timer)
                .map(b -> Reply.bytes(HttpResponseStatus.OK, "application/json", b));
    }

    /**
     * {@code GET /health}: {@code {"status":"ok","datasets":N,"commit":version,"refreshed":instant}},
     * the commit this handle serves (the version token of the registry object it last loaded or
     * confirmed) and when it last confirmed it (ISO-8601, UTC). Servers of one store that report
     * the same commit answer every read alike.
     */
    Mono<Reply> health(AtlasRoutes.Call call) {
        return json(Mono.fromCallable(() -> Json.render(g -> {
            g.writeStartObject();
            g.writeStringField("status", "ok");
            g.writeNumberField("datasets", atlas.datasetCount());
            g.writeStringField("commit", atlas.commitVersion());
            g.writeStringField("refreshed", atlas.lastRefresh().toString());
            g.writeEndObject();
        })), call, timer);
    }

    Mono<Reply> metrics(AtlasRoutes.Call call) {
        PrometheusMeterRegistry p = metrics.prometheus();
        if (p == null) {
            return Mono.error(ApiError.notFound("the server's meter registry has no Prometheus part", null));
        }
        // Scraping evaluates every gauge (MXBeans, cache snapshots): run it off the event loop.
        return Mono.fromCallable(p::scrape).subscribeOn(work)
                .map(text -> Reply.bytes(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                        text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** {@code GET /datasets?prefix=&limit=&cursor=}: cursor is the opaque {@code next_cursor} of the previous page. */
    Mono<Reply> datasets(AtlasRoutes.Call call) {
        String prefix = Params.single(call.query(), "prefix");
        String limitText = Params.single(call.query(), "limit");
        String cursor = Params.single(call.query(), "cursor");
        int limit = limitText == null ? options.defaultPageSize()
                : (int) Params.integer(limitText, "limit", 1, options.maxPageSize());
        long offset = cursor == null ? 0 : Params.integer(cursor, "cursor", 0, Integer.MAX_VALUE);
        List<String> names = atlas.listDatasets();
        List<String> matching = prefix == null || prefix.isEmpty() ? names
                : names.stream().filter(n -> n.startsWith(prefix)).toList();
        int from = (int) Math.min(offset, matching.size());
        int to = Math.min(matching.size(), from + limit);
        List<String> page = matching.subList(from, to);
        return json(Mono.fromCallable(() -> Json.render(g -> {
            g.writeStartObject();
            g.writeNumberField("total", matching.size());
            g.writeNumberField("offset", from);
            if (to < matching.size()) {
                g.writeStringField("next_cursor", Integer.toString(to));
            } else {
                g.writeNullField("next_cursor");
            }
            writeSummaries(g, atlas, page);
            g.writeEndObject();
        })), call, timer);
    }

    /**
     * Datasets {@code names} as the service's catalog pages list them ({@code atlas ls --json}):
     * {@code {"datasets":[{"name","arrays":[{"name","dtype","shape"}],"attributes"}]}} as UTF-8 JSON;
     * names deleted meanwhile are left out.
     */
    public static byte[] datasetsJson(Atlas atlas, List<String> names) {
        return Json.render(g -> {
            g.writeStartObject();
            writeSummaries(g, atlas, names);
            g.writeEndObject();
        });
    }

    private static void writeSummaries(JsonGenerator g, Atlas atlas, List<String> names) throws IOException {
        g.writeArrayFieldStart("datasets");
        for (String n : names) {
            DatasetMeta meta;
            try {
                meta = atlas.dataset(n).meta();
            } catch (DatasetNotFoundException gone) {
                continue;                               // deleted since the listing
            }
            g.writeStartObject();
            g.writeStringField("name", n);
            g.writeArrayFieldStart("arrays");
            for (Map.Entry<String, ArraySchema> a : meta.arrays().entrySet()) {
                g.writeStartObject();
                g.writeStringField("name", a.getKey());
                g.writeStringField("dtype", a.getValue().dtype().toString());
                Json.longs(g, "shape", a.getValue().shape());
                g.writeEndObject();
            }
            g.writeEndArray();
            Json.attrs(g, "attributes", meta.attributes());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** The details of one array that live in its file set (fill, attributes, statistics). */
    private record ArrayDetails(String name, ArraySchema schema, Optional<FillValue> fill,
            Map<String, AttributeValue> attributes, Optional<ArrayStats> stats) {
    }

    private static Mono<ArrayDetails> details(DatasetView view, String array, ArraySchema schema) {
        return Mono.zip(view.arrayFillValue(array).map(Optional::of).defaultIfEmpty(Optional.empty()),
                view.arrayAttributes(array),
                view.arrayStats(array).map(Optional::of).defaultIfEmpty(Optional.empty()))
                .map(t -> new ArrayDetails(array, schema, t.getT1(), t.getT2(), t.getT3()));
    }

    private static void writeArray(JsonGenerator g, ArrayDetails d) throws IOException {
        ArraySchema s = d.schema();
        g.writeStartObject();
        g.writeStringField("name", d.name());
        g.writeStringField("dtype", s.dtype().toString());
        Json.longs(g, "shape", s.shape());
        Json.longs(g, "chunks", s.chunkShape());
        Json.strings(g, "dims", s.dimensionNames());
        g.writeStringField("codec", s.codec().serdeName());
        g.writeFieldName("fill");
        Json.fill(g, d.fill().orElse(null));
        g.writeObjectFieldStart("attributes");
        for (Map.Entry<String, AttributeValue> e : d.attributes().entrySet()) {
            g.writeFieldName(e.getKey());
            Json.attribute(g, e.getValue());
        }
        g.writeEndObject();
        g.writeFieldName("stats");
        Json.stats(g, d.stats().orElse(null));
        g.writeEndObject();
    }

    static DatasetView view(Atlas atlas, String dataset) {
        Params.name(dataset, "dataset");
        try {
            return atlas.dataset(dataset);
        } catch (DatasetNotFoundException e) {
            throw ApiError.notFound("no dataset '" + dataset + "'", "dataset");
        }
    }

    static ArraySchema schema(DatasetView view, String array) {
        Params.name(array, "array");
        return view.arrayMeta(array).orElseThrow(() -> ApiError.notFound("dataset '" + view.name()
                + "' has no array '" + array + "'", "array"));
    }

    /** {@code GET /datasets/{dataset}}. */
    Mono<Reply> dataset(AtlasRoutes.Call call) {
        return json(datasetJson(view(atlas, call.path("dataset"))), call, timer);
    }

    /**
     * A dataset as the service describes it ({@code GET /datasets/{dataset}}; also {@code atlas
     * info STORE DATASET --json}): name, typed attributes, and every array's schema, fill,
     * attributes and statistics, as UTF-8 JSON.
     */
    public static Mono<byte[]> datasetJson(DatasetView view) {
        DatasetMeta meta = view.meta();
        return Flux.fromIterable(meta.arrays().entrySet())
                .concatMap(e -> details(view, e.getKey(), e.getValue()))
                .collectList()
                .map(list -> Json.render(g -> {
                    g.writeStartObject();
                    g.writeStringField("name", view.name());
                    Json.attrs(g, "attributes", meta.attributes());
                    g.writeArrayFieldStart("arrays");
                    for (ArrayDetails d : list) {
                        writeArray(g, d);
                    }
                    g.writeEndArray();
                    g.writeEndObject();
                }));
    }

    /** {@code GET /datasets/{dataset}/arrays/{array}}. */
    Mono<Reply> array(AtlasRoutes.Call call) {
        DatasetView view = view(atlas, call.path("dataset"));
        String array = call.path("array");
        ArraySchema schema = schema(view, array);
        return json(details(view, array, schema).map(d -> Json.render(g -> writeArray(g, d))), call, timer);
    }

    /** {@code GET /arrays}: every array name, its dtype and how many datasets declare it. */
    Mono<Reply> arrays(AtlasRoutes.Call call) {
        return json(Mono.fromCallable(() -> arraysJson(atlas)), call, timer);
    }

    /**
     * The store's array names as the service lists them ({@code GET /arrays}; also {@code atlas ls
     * --arrays --json}): {@code {"arrays":[{"name","dtype","datasets"}]}} as UTF-8 JSON.
     */
    public static byte[] arraysJson(Atlas atlas) {
        // From the store's index of array names: a 1,000-dataset store costs no 1,000 dataset
        // snapshots per request.
        List<ArrayUsage> usage = atlas.arrayUsage();
        return Json.render(g -> {
            g.writeStartObject();
            g.writeArrayFieldStart("arrays");
            for (ArrayUsage a : usage) {
                g.writeStartObject();
                g.writeStringField("name", a.name());
                g.writeStringField("dtype", a.dtype().toString());
                g.writeNumberField("datasets", a.datasets());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }
}
