package dev.atlas.examples.cli;

import dev.atlas.store.CompactionProgress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code atlas compact STORE}: rewrites each array file as one base layer and drops unreferenced
 * data; progress (file sets and bytes) on stderr on a terminal or with {@code --progress}.
 */
@Command(name = "compact", mixinStandardHelpOptions = true, description = {"Compact a store: one layer per array file, deleted datasets' data removed.",
        "Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 store not found."})
final class CompactCommand extends StoreCommand {

    @Option(names = "--json", description = "Report as JSON: {store, datasets, arrays, seconds, compacted:[...], garbage:N,"
            + " abandoned_uploads:N, yielded:[...], layer_files:{before, after}, disk_bytes:{before, after}} (sizes for a local store).")
    boolean json;

    @picocli.CommandLine.Mixin
    ProgressOption progressOption = new ProgressOption();

    @Override
    public Integer call() {
        PrintWriter out = out();
        try (StoreSession s = StoreSession.open(location())) {
            long[] before = s.localDir().map(CompactCommand::onDisk).orElse(null);
            Map<String, Long> arrayBytes = new HashMap<>();
            s.localDir().ifPresent(dir -> s.atlas().listArrays().forEach(a -> arrayBytes.put(a, InfoCommand.layerFiles(dir.resolve(a))[1])));
            Progress progress = new Progress(err(), progressOption.mode(spec), s.localDir().isPresent() ? arrayBytes : null);
            long t0 = System.nanoTime();
            dev.atlas.store.CompactionReport report;
            try {
                report = s.atlas().compact(progress).block();
            } finally {
                progress.finish();
            }
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

    /**
     * Compaction progress on stderr: array file sets done of total and, for a local store, their
     * bytes on disk before compaction done of total; redrawn on a terminal (at most ten times a
     * second), else a line per tenth of the file sets; nothing in {@link ProgressOption.Mode#NONE}.
     */
    static final class Progress implements Consumer<CompactionProgress> {
        private static final int WIDTH = 30;
        private static final long REDRAW_NANOS = 100_000_000L;
        private final PrintWriter err;
        private final ProgressOption.Mode mode;
        private final Map<String, Long> bytesPerArray;
        private final long totalBytes;
        private final long startNanos = System.nanoTime();
        private long bytesDone;
        private int done;
        private int lastTenth;
        private long lastDraw;
        private int drawnWidth;

        /** @param bytesPerArray bytes on disk of each array's file set, or null when unknown (S3) */
        Progress(PrintWriter err, ProgressOption.Mode mode, Map<String, Long> bytesPerArray) {
            this.err = err;
            this.mode = mode;
            this.bytesPerArray = bytesPerArray;
            this.totalBytes = bytesPerArray == null ? 0 : bytesPerArray.values().stream().mapToLong(Long::longValue).sum();
        }

        @Override
        public synchronized void accept(CompactionProgress p) {
            // Counted here, not taken from p: file sets compact concurrently, and the report
            // numbered 4 of 4 can arrive before the one numbered 3 (whose bytes would be missing
            // from a final line drawn from p's count).
            done++;
            if (bytesPerArray != null) {
                bytesDone += bytesPerArray.getOrDefault(p.array(), 0L);
            }
            if (mode == ProgressOption.Mode.REDRAW) {
                long now = System.nanoTime();
                if (now - lastDraw >= REDRAW_NANOS || done == p.fileSetsTotal()) {
                    lastDraw = now;
                    String line = line(p);
                    int pad = Math.max(0, drawnWidth - line.length());
                    drawnWidth = line.length();
                    err.print("\r" + line + " ".repeat(pad));
                    err.flush();
                }
            } else if (mode == ProgressOption.Mode.LINES) {
                int tenth = p.fileSetsTotal() == 0 ? 10 : done * 10 / p.fileSetsTotal();
                if (tenth > lastTenth) {
                    lastTenth = tenth;
                    err.println(line(p));
                    err.flush();
                }
            }
        }

        /** Ends the redrawn line. */
        synchronized void finish() {
            if (drawnWidth > 0) {
                err.println();
                err.flush();
                drawnWidth = 0;
            }
        }

        private String line(CompactionProgress p) {
            int total = Math.max(1, p.fileSetsTotal());
            int filled = done * WIDTH / total;
            double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
            StringBuilder b = new StringBuilder("compact [").append("#".repeat(filled)).append(".".repeat(WIDTH - filled))
                    .append(String.format("] %3d%% %d/%d array file sets", done * 100 / total, done,
                            p.fileSetsTotal()));
            if (bytesPerArray != null) {
                b.append(", ").append(Values.bytes(bytesDone)).append(" of ").append(Values.bytes(totalBytes))
                        .append(", ").append(Values.bytes((long) (bytesDone / seconds))).append("/s");
            }
            b.append(", ").append(p.array()).append(p.compacted() ? "" : " (yielded)");
            return b.toString();
        }
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
