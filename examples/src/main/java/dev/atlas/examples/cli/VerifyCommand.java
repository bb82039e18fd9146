package dev.atlas.examples.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.integrity.Finding;
import dev.atlas.integrity.VerifyProgress;
import dev.atlas.integrity.VerifyReport;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.Storage;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.store.StoreUri;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import java.util.concurrent.Callable;

/**
 * {@code atlas verify STORE|FILE}: checks every stored byte of a store (registry, every array file
 * set: footers, blocks, chunks, statistics; the registry cross-checked against the array files) or
 * of one {@code .af} file set, and reports every finding. Damage is reported, not thrown: one run
 * lists all of it, and the exit code says whether there was any.
 */
@Command(name = "verify", mixinStandardHelpOptions = true, description = {"Check a store (or one .af file set) for damaged or inconsistent bytes.",
        "Reads every layer footer, every block (decoded as reads decode it), every chunk and the statistics, and",
        "cross-checks the registry against the array files. Progress goes to stderr on runs longer than a second.",
        "Exit codes: 0 no damage (warnings allowed), 4 damage found, 1 runtime error, 2 usage error,",
        "3 store or file not found."})
final class VerifyCommand implements Callable<Integer> {
    /** How often a progress line is printed while a walk runs. */
    static final long PROGRESS_EVERY_NANOS = 1_000_000_000L;

    @Parameters(index = "0", paramLabel = "STORE|FILE",
            description = "A store (directory, file:///PATH or s3://bucket/prefix) or the base of a file set (PATH/data.af).")
    String target;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Option(names = "--quiet", description = "No progress lines on stderr.")
    boolean quiet;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Progress progress = new Progress(err, quiet, PROGRESS_EVERY_NANOS);
        VerifyReport report;
        EngineResources resources = EngineResources.create();
        try {
            report = run(resources, progress);
        } finally {
            progress.finish();
            resources.disposeLater().block();
        }
        if (json) {
            writeJson(report, out);
        } else {
            writeText(report, out);
        }
        out.flush();
        return report.clean() ? AtlasCli.EXIT_OK : AtlasCli.EXIT_DAMAGED;
    }

    private VerifyReport run(EngineResources resources, Consumer<VerifyProgress> progress) {
        StoreUri location = StoreSession.location(target);
        if (location instanceof StoreUri.S3 s3) {
            try (S3Storage storage = S3Storage.open(S3Settings.current().options(s3.bucket()), resources)) {
                return Atlas.verify(storage, s3.prefix(), AtlasOptions.builder(resources).build(), progress).block();
            }
        }
        Path path = ((StoreUri.Local) location).dir();
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".af")) {
            Path dir = path.toAbsolutePath().getParent();
            try (LocalStorage storage = LocalStorage.open(dir, resources)) {
                return ArrayFile.verify(storage, path.getFileName().toString(), ArrayFileOptions.builder(resources).build(),
                        progress).block();
            }
        }
        if (!Files.isDirectory(path)) {
            throw new NotFoundException("no store directory or .af file at " + path);
        }
        if (!StoreSession.isStore(path)) {
            throw new StoreNotFoundException("no Atlas registry (atlas.json, atlas.msgpack, ...) in " + path
                    + "; give the base of a file set (PATH/data.af) to verify one file set");
        }
        try (LocalStorage storage = LocalStorage.open(path, resources)) {
            return Atlas.verify(storage, "", AtlasOptions.builder(resources).build(), progress).block();
        }
    }

    private void writeText(VerifyReport r, PrintWriter out) {
        out.printf("verified %s: %d file set(s), %d layer(s), %d block(s) (%s), %d array(s)%n", target, r.fileSets(), r.layers(),
                r.blocks(), Values.bytes(r.bytes()), r.arrays());
        for (Finding f : r.findings()) {
            out.printf("%-7s %-11s %s: %s%n", f.severity(), f.kind(), f.object(), f.detail());
        }
        if (r.clean()) {
            out.printf("clean%s%n", r.warnings().isEmpty() ? "" : " (" + r.warnings().size() + " warning(s), no damage)");
        } else {
            out.printf("DAMAGED: %d finding(s) of damage%s%n", r.damage().size(),
                    r.warnings().isEmpty() ? "" : ", " + r.warnings().size() + " warning(s)");
        }
    }

    private void writeJson(VerifyReport r, PrintWriter out) {
        java.io.StringWriter text = new java.io.StringWriter();
        try (JsonGenerator g = new JsonFactory().createGenerator(text)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            g.writeStringField("target", target);
            g.writeBooleanField("clean", r.clean());
            g.writeNumberField("damage", r.damage().size());
            g.writeNumberField("warnings", r.warnings().size());
            g.writeNumberField("file_sets", r.fileSets());
            g.writeNumberField("layers", r.layers());
            g.writeNumberField("blocks", r.blocks());
            g.writeNumberField("bytes", r.bytes());
            g.writeNumberField("arrays", r.arrays());
            g.writeArrayFieldStart("findings");
            for (Finding f : r.findings()) {
                g.writeStartObject();
                g.writeStringField("severity", f.severity().name().toLowerCase(Locale.ROOT));
                g.writeStringField("kind", f.kind().name().toLowerCase(Locale.ROOT));
                g.writeStringField("object", f.object());
                g.writeStringField("detail", f.detail());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.println(text);
    }

    /** Progress lines on stderr, at most one per {@code every} nanoseconds, the first after {@code every}. Thread-safe. */
    static final class Progress implements Consumer<VerifyProgress> {
        private final PrintWriter err;
        private final boolean quiet;
        private final long every;
        private final long start = System.nanoTime();
        private long last = start;
        private boolean printed;

        Progress(PrintWriter err, boolean quiet, long every) {
            this.err = err;
            this.quiet = quiet;
            this.every = every;
        }

        @Override
        public synchronized void accept(VerifyProgress p) {
            long now = System.nanoTime();
            if (quiet || now - last < every) {
                return;
            }
            last = now;
            printed = true;
            err.printf(Locale.ROOT, "verify: %d/%d file sets, %,d blocks (%s), %d finding(s); at %s%n", p.fileSetsDone(), p.fileSetsTotal(),
                    p.blocksChecked(), Values.bytes(p.bytesChecked()), p.findings(), p.object());
            err.flush();
        }

        synchronized void finish() {
            if (printed) {
                err.printf(Locale.ROOT, "verify: done in %.1f s%n", (System.nanoTime() - start) / 1e9);
                err.flush();
            }
        }
    }
}
