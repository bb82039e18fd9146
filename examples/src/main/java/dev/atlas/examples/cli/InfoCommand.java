package dev.atlas.examples.cli;

import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.Atlas;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetMeta;
import dev.atlas.store.DatasetView;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code atlas info STORE [DATASET]}: the store's registry format, codec, datasets and arrays
 * (dtype, datasets declaring it, layer files and bytes on disk), or one dataset's arrays (dtype,
 * shape, chunks, dimensions, fill value, size, statistics as of the last flush) and attributes.
 */
@Command(name = "info", mixinStandardHelpOptions = true, description = {"Describe a store, or one dataset of it.",
        "Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 store or dataset not found."})
final class InfoCommand extends StoreCommand {

    @Parameters(index = "1", arity = "0..1", paramLabel = "DATASET", description = "Describe this dataset.")
    String dataset;

    @Option(names = "--json", description = "JSON: for a dataset, what the HTTP service answers for it; for the store,"
            + " {store, registry, codec, datasets, arrays:[{name, dtype, datasets, elements, raw_bytes, layer_files, disk_bytes}]}.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = out();
        try (StoreSession s = StoreSession.open(location())) {
            if (dataset == null) {
                describeStore(s, out, json);
            } else if (json) {
                out.print(new String(dev.atlas.http.Catalog.datasetJson(dataset(s, dataset)).block(),
                        java.nio.charset.StandardCharsets.UTF_8));
            } else {
                describeDataset(dataset(s, dataset), out);
            }
        }
        out.flush();
        return 0;
    }

    private static void describeStore(StoreSession s, PrintWriter out, boolean json) {
        Atlas atlas = s.atlas();
        if (json) {
            out.print(new String(storeJson(s), java.nio.charset.StandardCharsets.UTF_8));
            return;
        }
        out.printf("store     %s%n", s.location());
        out.printf("registry  %s (%s, %s)%n", atlas.registryFile().fileName(), atlas.registryFile().format(),
                atlas.registryFile().compression().serdeName());
        out.printf("codec     %s%n", atlas.codec().serdeName());
        out.printf("datasets  %d%n", atlas.datasetCount());
        Map<String, long[]> perArray = new LinkedHashMap<>();   // datasets, elements, uncompressed bytes
        for (String ds : atlas.listDatasets()) {
            for (Map.Entry<String, ArraySchema> e : atlas.dataset(ds).meta().arrays().entrySet()) {
                long n = Arrays.stream(e.getValue().shape()).reduce(1, Math::multiplyExact);
                long[] acc = perArray.computeIfAbsent(e.getKey(), k -> new long[3]);
                acc[0]++;
                acc[1] += n;
                acc[2] += Math.max(0, e.getValue().dtype().elementSize()) * n;
            }
        }
        out.printf("arrays    %d%n", atlas.listArrays().size());
        long totalDisk = 0;
        for (String a : atlas.listArrays()) {
            long[] acc = perArray.getOrDefault(a, new long[3]);
            String dtype = atlas.arrayDtype(a).map(DType::toString).orElse("?");
            String disk = "";
            if (s.localDir().isPresent()) {
                long[] files = layerFiles(s.localDir().get().resolve(a));
                totalDisk += files[1];
                disk = String.format("  %d layer file(s), %s on disk", files[0], Values.bytes(files[1]));
            }
            out.printf("  %-20s %-10s %5d dataset(s) %,14d elements %10s raw%s%n", a, dtype, acc[0], acc[1],
                    Values.bytes(acc[2]), disk);
        }
        if (s.localDir().isPresent()) {
            out.printf("on disk   %s in array files%n", Values.bytes(totalDisk));
        }
    }

    /** The store summary as JSON (sizes on disk only for a local store). */
    private static byte[] storeJson(StoreSession s) {
        Atlas atlas = s.atlas();
        Map<String, long[]> perArray = new LinkedHashMap<>();   // datasets, elements, uncompressed bytes
        for (String ds : atlas.listDatasets()) {
            for (Map.Entry<String, ArraySchema> e : atlas.dataset(ds).meta().arrays().entrySet()) {
                long n = Arrays.stream(e.getValue().shape()).reduce(1, Math::multiplyExact);
                long[] acc = perArray.computeIfAbsent(e.getKey(), k -> new long[3]);
                acc[0]++;
                acc[1] += n;
                acc[2] += Math.max(0, e.getValue().dtype().elementSize()) * n;
            }
        }
        return dev.atlas.http.Json.render(g -> {
            g.writeStartObject();
            g.writeStringField("store", s.location().toString());
            g.writeObjectFieldStart("registry");
            g.writeStringField("file", atlas.registryFile().fileName());
            g.writeStringField("format", atlas.registryFile().format().toString());
            g.writeStringField("compression", atlas.registryFile().compression().serdeName());
            g.writeEndObject();
            g.writeStringField("codec", atlas.codec().serdeName());
            g.writeNumberField("datasets", atlas.datasetCount());
            g.writeArrayFieldStart("arrays");
            for (String a : atlas.listArrays()) {
                long[] acc = perArray.getOrDefault(a, new long[3]);
                g.writeStartObject();
                g.writeStringField("name", a);
                g.writeStringField("dtype", atlas.arrayDtype(a).map(DType::toString).orElse(null));
                g.writeNumberField("datasets", acc[0]);
                g.writeNumberField("elements", acc[1]);
                g.writeNumberField("raw_bytes", acc[2]);
                if (s.localDir().isPresent()) {
                    long[] files = layerFiles(s.localDir().get().resolve(a));
                    g.writeNumberField("layer_files", files[0]);
                    g.writeNumberField("disk_bytes", files[1]);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        });
    }

    /** Layer files ({@code data.af}, {@code data.N.af}) under an array directory and the bytes of all its files. */
    static long[] layerFiles(Path arrayDir) {
        if (!Files.isDirectory(arrayDir)) {
            return new long[2];
        }
        long[] r = new long[2];
        try (Stream<Path> files = Files.list(arrayDir)) {
            files.filter(Files::isRegularFile).forEach(p -> {
                String n = p.getFileName().toString();
                if (n.equals("data" + LayerNames.SUFFIX) || LayerNames.sidecarNumber("data", n) > 0) {
                    r[0]++;
                }
                try {
                    r[1] += Files.size(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return r;
    }

    /** A statistic; Float32 arrays' statistics (stored as f64) shown as the float32 they are. */
    private static String stat(dev.atlas.format.StatValue v, DType dtype) {
        if (v instanceof dev.atlas.format.StatValue.Float f && dtype.equals(DType.FLOAT32)) {
            return Float.toString((float) f.value());
        }
        return DumpCommand.show(v);
    }

    private static void describeDataset(DatasetView ds, PrintWriter out) {
        DatasetMeta meta = ds.meta();
        out.printf("dataset %s: %d array(s), %d attribute(s)%n", ds.name(), meta.arrays().size(), meta.attributes().size());
        for (Map.Entry<String, Attr> a : meta.attributes().entrySet()) {
            out.printf("  :%s = %s%n", a.getKey(), Values.attr(a.getValue()));
        }
        for (Map.Entry<String, ArraySchema> e : meta.arrays().entrySet()) {
            String name = e.getKey();
            ArraySchema sc = e.getValue();
            long n = Arrays.stream(sc.shape()).reduce(1, Math::multiplyExact);
            StringBuilder dims = new StringBuilder();
            for (int i = 0; i < sc.rank(); i++) {
                String dim = i < sc.dimensionNames().size() ? sc.dimensionNames().get(i) : "";
                dims.append(i == 0 ? "" : ", ").append(dim.isEmpty() ? "dim" + i : dim).append('=').append(sc.shape()[i]);
            }
            out.println();
            out.printf("%s %s(%s)%n", sc.dtype(), name, dims);
            FillValue fill = ds.arrayFillValue(name).block();
            out.printf("    chunks %s, codec %s, fill %s, %,d elements%s%n", Arrays.toString(sc.chunkShape()),
                    sc.codec().serdeName(), DumpCommand.show(fill), n,
                    sc.dtype().elementSize() > 0 ? " (" + Values.bytes(n * sc.dtype().elementSize()) + " raw)" : "");
            for (Map.Entry<String, AttributeValue> a : ds.arrayAttributes(name).block().entrySet()) {
                out.printf("    :%s = %s%n", a.getKey(), Values.attribute(a.getValue()));
            }
            ArrayStats st = ds.arrayStats(name).block();
            if (st == null) {
                out.println("    stats: none (not flushed, or not computed for this dtype)");
            } else {
                out.printf("    stats: min %s, max %s, nulls %s of %s%n", stat(st.min(), sc.dtype()), stat(st.max(), sc.dtype()),
                        Long.toUnsignedString(st.nullCount()), Long.toUnsignedString(st.rowCount()));
            }
        }
    }
}
