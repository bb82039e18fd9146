package dev.atlas.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code atlas compact STORE}: rewrites each array file as one base layer and drops unreferenced data. */
@Command(name = "compact", mixinStandardHelpOptions = true, description = {"Compact a store: one layer per array file, deleted datasets' data removed.",
        "Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 store not found."})
final class CompactCommand extends StoreCommand {

    @Option(names = "--json", description = "Report as JSON: {store, datasets, arrays, seconds, compacted:[...], garbage:N,"
            + " abandoned_uploads:N, yielded:[...], layer_files:{before, after}, disk_bytes:{before, after}} (sizes for a local store).")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = out();
        try (StoreSession s = StoreSession.open(location())) {
            long[] before = s.localDir().map(CompactCommand::onDisk).orElse(null);
            long t0 = System.nanoTime();
            dev.atlas.store.CompactionReport report = s.atlas().compact().block();
            double seconds = (System.nanoTime() - t0) / 1e9;
            long[] after = s.localDir().map(CompactCommand::onDisk).orElse(null);
            if (json) {
                out.print(new String(dev.atlas.http.Json.render(g -> {
                    g.writeStartObject();
                    g.writeStringField("store", s.location().toString());
                    g.writeNumberField("datasets", s.atlas().datasetCount());
                    g.writeNumberField("arrays", s.atlas().listArrays().size());
                    g.writeNumberField("seconds", seconds);
                    g.writeArrayFieldStart("compacted");
                    for (String c : report.compacted()) {
                        g.writeString(c);
                    }
                    g.writeEndArray();
                    g.writeNumberField("garbage", report.garbage().size());
                    g.writeNumberField("abandoned_uploads", report.abandonedUploads());
                    g.writeArrayFieldStart("yielded");
                    for (String y : report.yielded()) {
                        g.writeString(y);
                    }
                    g.writeEndArray();
                    if (before != null) {
                        g.writeObjectFieldStart("layer_files");
                        g.writeNumberField("before", before[0]);
                        g.writeNumberField("after", after[0]);
                        g.writeEndObject();
                        g.writeObjectFieldStart("disk_bytes");
                        g.writeNumberField("before", before[1]);
                        g.writeNumberField("after", after[1]);
                        g.writeEndObject();
                    }
                    g.writeEndObject();
                }), java.nio.charset.StandardCharsets.UTF_8));
                out.flush();
                return 0;
            }
            out.printf("compacted %s (%d datasets, %d arrays) in %.2f s%n", s.location(), s.atlas().datasetCount(),
                    s.atlas().listArrays().size(), seconds);
            if (before != null) {
                out.printf("layer files %d -> %d, array bytes on disk %s -> %s%n", before[0], after[0],
                        Values.bytes(before[1]), Values.bytes(after[1]));
            }
            out.printf("reclaimed: %d array files compacted, %d garbage objects deleted, %d abandoned uploads removed%n",
                    report.compacted().size(), report.garbage().size(), report.abandonedUploads());
            if (!report.yielded().isEmpty()) {
                out.printf("not compacted (another writer is flushing to them): %s%n", String.join(", ", report.yielded()));
            }
        }
        out.flush();
        return 0;
    }

    /** Layer files and bytes under every array directory of a local store. */
    static long[] onDisk(Path dir) {
        long[] total = new long[2];
        try (var entries = java.nio.file.Files.list(dir)) {
            entries.filter(java.nio.file.Files::isDirectory).forEach(d -> {
                long[] f = InfoCommand.layerFiles(d);
                total[0] += f[0];
                total[1] += f[1];
            });
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return total;
    }
}
