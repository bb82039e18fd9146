package dev.atlas.examples.cli;

import dev.atlas.error.DatasetAlreadyExistsException;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.examples.netcdf.NcImporter;
import dev.atlas.examples.netcdf.NcModel;
import dev.atlas.format.DType;
import dev.atlas.store.Atlas;
import dev.atlas.store.StoreUri;
import io.jhdf.HdfFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code atlas import PATH... --store STORE}: one dataset per NetCDF-4/HDF5 file (named after the
 * file stem), with netCDF-C's semantics ({@link NcModel}): shapes from netCDF dimensions, fill for
 * every element never written, dimension names from dimension scales in every group, every
 * attribute. Values are streamed chunk by chunk ({@link dev.atlas.examples.netcdf.VariableCopier}),
 * so memory stays bounded whatever the file's size; files are imported {@code --jobs} at a time.
 *
 * <p>Commits: a file's dataset becomes visible only whole. Imports share the store's pending state
 * under a read lock and a flush takes the write lock, so a flush (every {@link #FLUSH_BYTES} of
 * imported values, and at the end) never commits a file half-imported; a file that fails has its
 * dataset deleted before any flush. A store this command created is removed again when no file
 * could be imported, unless another process put a dataset in it meanwhile ({@link
 * dev.atlas.store.Atlas#deleteIfEmpty}).
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Import NetCDF-4/HDF5 files (or directories of them) into a store, one dataset per file.",
            "Exit codes: 0 ok; 1 runtime error (nothing or only some files imported, see the message); 2 usage error;",
            "3 a path not found; 5 --keep-going imported some files and others failed (listed at the end)."})
final class ImportCommand implements Callable<Integer> {
    /** File name endings taken as NetCDF-4/HDF5. */
    static final List<String> EXTENSIONS = List.of(".nc", ".nc4", ".h5", ".hdf5", ".he5", ".hdf");
    /** Imported bytes of values between two flushes (each flush commits the files finished so far). */
    static final long FLUSH_BYTES = 1L << 30;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "NetCDF-4/HDF5 files (.nc/.nc4/.h5/.hdf5/.he5/.hdf) or directories of them.")
    List<Path> paths;

    @Option(names = "--store", required = true, paramLabel = "STORE", description = "The store to import into (created if absent): a directory or s3://bucket/prefix.")
    String store;

    @Option(names = "--replace", description = "Replace datasets that already exist (default: refuse before importing anything).")
    boolean replace;

    @Option(names = "--keep-going", description = "Import the other files when one fails; list the failures at the end (exit code 5).")
    boolean keepGoing;

    @Option(names = "--jobs", paramLabel = "N", description = "Files imported at once (default: ${DEFAULT-VALUE}).")
    int jobs = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    @Option(names = "--dtype-clash", paramLabel = "fail|suffix|skip", description = {
        "When a variable's dtype differs from the store's array of the same name (e.g. time as Int32 here, Float64 in",
        "the store): fail the file (default), import it as NAME_DTYPE (e.g. time_int32), or skip the variable."})
    String dtypeClash = "fail";

    @Option(names = "--rename", paramLabel = "VAR=ARRAY", description = "Import variable VAR (group.var for groups) as array ARRAY; repeatable.")
    List<String> renames = new ArrayList<>();

    @picocli.CommandLine.Mixin
    ProgressOption progressOption = new ProgressOption();

    @Spec
    CommandSpec spec;

    private final ReentrantReadWriteLock commitLock = new ReentrantReadWriteLock(true);
    private final AtomicBoolean stop = new AtomicBoolean();
    private long pendingBytes;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (jobs < 1 || jobs > 64) {
            throw CliException.usage("--jobs must be 1..64, not " + jobs);
        }
        NcImporter.Options options = new NcImporter.Options(renames(), clash());
        List<Path> files = files(paths);
        Map<Path, String> names = new LinkedHashMap<>();
        for (Path f : files) {
            String name = stem(f);
            if (names.containsValue(name)) {
                throw CliException.usage("two files import as dataset '" + name + "': " + f + " and "
                        + names.entrySet().stream().filter(e -> e.getValue().equals(name)).findFirst().orElseThrow().getKey());
            }
            names.put(f, name);
        }
        StoreUri location = StoreSession.location(store);

        // Read every file's structure first: a file that cannot be read fails before anything is written.
        List<String> failures = new ArrayList<>();
        Map<Path, Long> sizes = new LinkedHashMap<>();
        Map<Path, Map<String, DType>> dtypes = new LinkedHashMap<>();
        for (Path f : files) {
            try {
                NcImporter.checkHdf5(f);
                try (HdfFile hdf = new HdfFile(f)) {
                    long bytes = 0;
                    Map<String, DType> vars = new LinkedHashMap<>();
                    for (NcModel.Variable v : NcImporter.model(f, hdf).variables()) {
                        bytes += v.valueBytes();
                        vars.put(v.name(), v.dtype());
                    }
                    sizes.put(f, bytes);
                    dtypes.put(f, vars);
                }
            } catch (NcImporter.ImportException e) {
                failures.add(e.getMessage());
            } catch (RuntimeException e) {
                failures.add(f.getFileName() + ": cannot read: " + NcImporter.describe(e));
            }
            if (!failures.isEmpty() && !keepGoing) {
                throw CliException.runtime(failures.get(0) + " (nothing imported)");
            }
        }
        if (sizes.isEmpty()) {
            return report(out, err, 0, 0, 0, failures, 0);
        }

        boolean created = false;
        boolean dirExisted = location instanceof StoreUri.Local l && Files.exists(l.dir());
        StoreSession s;
        try {
            s = StoreSession.open(location, false);
        } catch (StoreNotFoundException e) {
            try {
                s = StoreSession.create(location);
                created = true;
            } catch (dev.atlas.error.AlreadyExistsException raced) {
                s = StoreSession.open(location, false); // another process created it meanwhile: not ours to remove
            }
        }
        int imported = 0;
        long arrays = 0;
        long bytes = 0;
        long t0 = System.nanoTime();
        try {
            Atlas atlas = s.atlas();
            for (Map.Entry<Path, Long> e : sizes.entrySet()) {
                String name = names.get(e.getKey());
                if (atlas.datasetExists(name) && !replace) {
                    throw new DatasetAlreadyExistsException("dataset '" + name + "' (from " + e.getKey().getFileName()
                            + ") already exists in " + location + "; pass --replace to overwrite it (nothing imported)");
                }
            }
            Map<Path, NcImporter.Options> perFile = resolveClashes(atlas, dtypes, options, failures, err);
            if (!failures.isEmpty() && !keepGoing) {
                throw CliException.runtime(failures.get(0) + " (nothing imported)");
            }
            sizes.keySet().retainAll(perFile.keySet());
            out.printf("importing %d file(s) into %s%n", sizes.size(), location);
            out.flush();
            long total = sizes.values().stream().mapToLong(Long::longValue).sum();
            ImportProgress progress = new ImportProgress(err, progressOption.mode(spec), total, sizes.size());
            ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(jobs, sizes.size())), r -> {
                Thread t = new Thread(r, "atlas-import");
                t.setDaemon(true);
                return t;
            });
            List<Future<NcImporter.Result>> results = new ArrayList<>();
            try {
                for (Path f : sizes.keySet()) {
                    long fileBytes = sizes.get(f);
                    results.add(pool.submit(() -> importOne(atlas, f, names.get(f), perFile.get(f),
                            progress, fileBytes)));
                }
                for (Future<NcImporter.Result> r : results) {
                    try {
                        NcImporter.Result res = r.get();
                        if (res != null) {
                            imported++;
                            arrays += res.arrays();
                            bytes += res.bytes();
                            res.notes().forEach(n -> err.println("atlas: " + n));
                        }
                    } catch (java.util.concurrent.ExecutionException x) {
                        failures.add(x.getCause() instanceof NcImporter.ImportException ie ? ie.getMessage()
                                : NcImporter.describe(x.getCause()));
                    }
                }
            } finally {
                pool.shutdownNow();
                pool.awaitTermination(1, TimeUnit.MINUTES);
                progress.finish();
            }
            flush(atlas);
        } finally {
            if (created && imported == 0) {
                try {
                    if (!s.discardCreated()) {
                        err.println("atlas: the store " + location + " this command created holds datasets written by"
                                + " another process meanwhile; it stays");
                    } else if (location instanceof StoreUri.Local l && !dirExisted) {
                        try {
                            Files.deleteIfExists(l.dir());
                        } catch (java.nio.file.DirectoryNotEmptyException e) {
                            // the storage's lock files, or something put there meanwhile: it stays
                        }
                    }
                } catch (RuntimeException e) {
                    // Said, not thrown: the import's own failure (reported below) is the news.
                    err.println("atlas: could not remove the store " + location + " this command created: " + e.getMessage());
                }
            } else {
                s.close();
            }
        }
        return report(out, err, imported, arrays, bytes, failures, System.nanoTime() - t0);
    }

    /** Imports one file under the shared commit lock; null when skipped because another file failed. */
    private NcImporter.Result importOne(Atlas atlas, Path f, String name, NcImporter.Options options, ImportProgress progress,
            long fileBytes) throws IOException {
        if (stop.get()) {
            return null;
        }
        NcImporter.Result result;
        commitLock.readLock().lock();
        try (HdfFile hdf = new HdfFile(f)) {
            if (replace && atlas.datasetExists(name)) {
                atlas.deleteDataset(name).block();
            }
            result = NcImporter.importFile(atlas, f, NcImporter.model(f, hdf), name, options,
                    progress.forFile(f.getFileName().toString(), fileBytes));
        } catch (RuntimeException e) {
            if (!keepGoing) {
                stop.set(true);
            }
            progress.fileDone("failed " + f.getFileName());
            throw e instanceof NcImporter.ImportException ? e
                    : new NcImporter.ImportException(f.getFileName() + ": " + NcImporter.describe(e), e);
        } finally {
            commitLock.readLock().unlock();
        }
        progress.fileDone("imported " + f.getFileName() + " as '" + name + "': " + result.arrays() + " array(s), "
                + Values.bytes(result.bytes()));
        boolean flushNow;
        synchronized (this) {
            pendingBytes += result.bytes();
            flushNow = pendingBytes >= FLUSH_BYTES;
            if (flushNow) {
                pendingBytes = 0;
            }
        }
        if (flushNow) {
            flush(atlas);
        }
        return result;
    }

    /**
     * Settles dtype clashes before anything is written, in file order: an array name takes the
     * store's dtype, else that of the first file declaring it; a later file's variable of another
     * dtype is renamed ({@code suffix}), skipped ({@code skip}) or fails its file ({@code fail},
     * recorded in {@code failures}). Returns the options of every file that can be imported.
     */
    private Map<Path, NcImporter.Options> resolveClashes(Atlas atlas, Map<Path, Map<String, DType>> dtypes,
            NcImporter.Options options, List<String> failures, PrintWriter err) {
        Map<String, DType> owners = new java.util.HashMap<>();
        Map<Path, NcImporter.Options> perFile = new LinkedHashMap<>();
        for (Map.Entry<Path, Map<String, DType>> file : dtypes.entrySet()) {
            String f = file.getKey().getFileName().toString();
            Map<String, String> rename = new LinkedHashMap<>(options.rename());
            Map<String, String> skip = new LinkedHashMap<>();
            Map<String, DType> claims = new LinkedHashMap<>();
            String failure = null;
            for (Map.Entry<String, DType> v : file.getValue().entrySet()) {
                String array = rename.getOrDefault(v.getKey(), v.getKey());
                DType owner = owners.containsKey(array) ? owners.get(array) : atlas.arrayDtype(array).orElse(null);
                if (owner == null || owner.equals(v.getValue())) {
                    claims.put(array, v.getValue());
                    continue;
                }
                String clash = NcImporter.clashMessage(f, v.getKey(), v.getValue(), array, owner);
                String suffixed = NcImporter.suffixed(array, v.getValue());
                switch (options.dtypeClash()) {
                    case SKIP:
                        skip.put(v.getKey(), clash.substring(f.length() + 2) + " (--dtype-clash=skip)");
                        break;
                    case SUFFIX: {
                        DType taken = owners.containsKey(suffixed) ? owners.get(suffixed) : atlas.arrayDtype(suffixed).orElse(null);
                        if (taken != null && !taken.equals(v.getValue())) {
                            failure = NcImporter.clashMessage(f, v.getKey(), v.getValue(), suffixed, taken)
                                    + " (after --dtype-clash=suffix); pass --rename " + v.getKey() + "=NEWNAME";
                        } else {
                            err.println("atlas: " + clash + ": imported as '" + suffixed + "' (--dtype-clash=suffix)");
                            rename.put(v.getKey(), suffixed);
                            claims.put(suffixed, v.getValue());
                        }
                        break;
                    }
                    default:
                        failure = clash + "; " + NcImporter.clashAdvice(v.getKey(), suffixed);
                        break;
                }
                if (failure != null) {
                    break;
                }
            }
            if (failure != null) {
                failures.add(failure);
                continue;
            }
            claims.forEach(owners::putIfAbsent);
            perFile.put(file.getKey(), new NcImporter.Options(rename, skip, options.dtypeClash()));
        }
        return perFile;
    }

    /** Commits the files finished so far; waits for files being imported (they hold the read lock). */
    private void flush(Atlas atlas) {
        commitLock.writeLock().lock();
        try {
            atlas.flush().block();
        } finally {
            commitLock.writeLock().unlock();
        }
    }

    private int report(PrintWriter out, PrintWriter err, int imported, long arrays, long bytes, List<String> failures, long nanos) {
        double seconds = nanos / 1e9;
        out.printf("imported %d dataset(s), %d array(s), %s of values in %.2f s%n", imported, arrays, Values.bytes(bytes), seconds);
        out.flush();
        if (failures.isEmpty()) {
            return AtlasCli.EXIT_OK;
        }
        if (!keepGoing) {
            throw CliException.runtime(failures.get(0) + (imported > 0 ? " (" + imported
                    + " other file(s) imported and committed; pass --keep-going to import the rest)" : " (nothing imported)"));
        }
        err.printf("atlas: %d file(s) failed:%n", failures.size());
        for (String f : failures) {
            err.println("atlas:   " + f);
        }
        err.flush();
        return imported > 0 ? AtlasCli.EXIT_PARTIAL : AtlasCli.EXIT_RUNTIME;
    }

    private NcImporter.DtypeClash clash() {
        try {
            return NcImporter.DtypeClash.valueOf(dtypeClash.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--dtype-clash must be fail, suffix or skip, not '" + dtypeClash + "'");
        }
    }

    private Map<String, String> renames() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String r : renames) {
            int eq = r.indexOf('=');
            if (eq <= 0 || eq == r.length() - 1) {
                throw CliException.usage("--rename takes VAR=ARRAY, not '" + r + "'");
            }
            m.put(r.substring(0, eq), r.substring(eq + 1));
        }
        return m;
    }

    /** The HDF5 files of {@code paths} (directories listed, not recursed), sorted by name within each. */
    static List<Path> files(List<Path> paths) throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path dir : paths) {
            if (!Files.exists(dir)) {
                throw new NoSuchFileException(dir.toString());
            }
            if (Files.isRegularFile(dir)) {
                files.add(dir);
                continue;
            }
            List<Path> found;
            try (Stream<Path> s = Files.list(dir)) {
                found = s.filter(Files::isRegularFile)
                        .filter(p -> EXTENSIONS.stream().anyMatch(x -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(x)))
                        .sorted().collect(Collectors.toList());
            }
            if (found.isEmpty()) {
                throw CliException.usage("no NetCDF-4/HDF5 files (" + String.join(", ", EXTENSIONS) + ") in " + dir);
            }
            files.addAll(found);
        }
        return files;
    }

    static String stem(Path f) {
        String n = f.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }
}
