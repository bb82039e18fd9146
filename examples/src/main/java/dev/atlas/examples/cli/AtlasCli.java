package dev.atlas.examples.cli;

import dev.atlas.error.AtlasException;
import dev.atlas.error.NotFoundException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import reactor.core.Exceptions;

/**
 * Entry point of the {@code atlas} tool. Errors print one line on stderr and exit non-zero
 * ({@link #EXIT_RUNTIME}, {@link #EXIT_USAGE}, {@link #EXIT_NOT_FOUND}; {@code verify} exits
 * {@link #EXIT_DAMAGED} when it found damage); {@code --verbose} adds
 * the stack trace.
 */
@Command(name = "atlas", mixinStandardHelpOptions = true, version = "atlas 0.1.0",
        description = "Build, inspect and read Atlas stores and chunked n-dimensional array files (.af).",
        footer = {"", "Exit codes: 0 ok; 1 runtime error (I/O, corrupt or conflicting data); 2 usage error (bad",
                "options or arguments, bad region, too many elements); 3 not found (store, dataset, array or file);",
                "4 'verify' found damage; 5 'import --keep-going' imported some files and others failed."},
        subcommands = {DemoCommand.class, LsCommand.class, InfoCommand.class, CatCommand.class, DumpCommand.class,
                ImportCommand.class, CompactCommand.class, RmCommand.class, ServeCommand.class, VerifyCommand.class,
                CommandLine.HelpCommand.class, picocli.AutoComplete.GenerateCompletion.class})
public final class AtlasCli implements Runnable {
    /** Success. */
    public static final int EXIT_OK = 0;
    /** Runtime error: I/O (local or S3), corrupt or conflicting data, an input the command cannot use. */
    public static final int EXIT_RUNTIME = 1;
    /** Usage error: unknown option, missing or malformed argument, bad region, too many elements. */
    public static final int EXIT_USAGE = 2;
    /** Not found: the store, a dataset, an array or a file does not exist. */
    public static final int EXIT_NOT_FOUND = 3;
    /** {@code verify} found damage (its report lists it); 1 stays "could not run". */
    public static final int EXIT_DAMAGED = 4;
    /** {@code import --keep-going}: some files were imported, others failed (listed on stderr). */
    public static final int EXIT_PARTIAL = 5;

    @Option(names = "--endpoint", paramLabel = "URL", scope = CommandLine.ScopeType.INHERIT,
            description = "S3 endpoint for s3:// stores (S3-compatible servers); default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS.")
    void endpoint(String url) {
        S3Settings.set(S3Settings.current().withEndpoint(url));
    }

    @Option(names = "--path-style", scope = CommandLine.ScopeType.INHERIT,
            description = "Path-style S3 addressing (most S3-compatible servers).")
    void pathStyle(boolean on) {
        S3Settings.set(S3Settings.current().withPathStyle(on));
    }

    @Option(names = "--s3-region", paramLabel = "REGION", scope = CommandLine.ScopeType.INHERIT,
            description = "S3 region; default: AWS_REGION or AWS_DEFAULT_REGION, else the profile's region in ~/.aws/config (AWS_PROFILE, AWS_CONFIG_FILE).")
    void region(String r) {
        S3Settings.set(S3Settings.current().withRegion(r));
    }

    @Option(names = "--s3-stall-timeout", paramLabel = "SECONDS", scope = CommandLine.ScopeType.INHERIT,
            description = "Seconds an S3 connection with a request in flight may transfer nothing before it is closed"
                    + " and the request retried; default: 10.")
    void stallTimeout(int seconds) {
        S3Settings.set(S3Settings.current().withStallSeconds(seconds));
    }

    @Option(names = "--io-concurrency", paramLabel = "N", scope = CommandLine.ScopeType.INHERIT,
            description = "Storage range reads a cross-dataset read keeps in flight; default: 4 for a local store,"
                    + " 64 for S3 (raise it for a store with a high latency per request).")
    void ioConcurrency(int n) {
        BulkSettings.set(new BulkSettings(BulkSettings.checked("--io-concurrency", n), BulkSettings.current().cpuConcurrency()));
    }

    @Option(names = "--cpu-concurrency", paramLabel = "N", scope = CommandLine.ScopeType.INHERIT,
            description = "Blocks a cross-dataset read decodes at once; default: two per core.")
    void cpuConcurrency(int n) {
        BulkSettings.set(new BulkSettings(BulkSettings.current().ioConcurrency(), BulkSettings.checked("--cpu-concurrency", n)));
    }

    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    private final OutputStream binaryOut;
    private final boolean stderrTerminal;

    private AtlasCli(OutputStream binaryOut, boolean stderrTerminal) {
        this.binaryOut = binaryOut;
        this.stderrTerminal = stderrTerminal;
    }

    /** Whether the command's stderr is a terminal (progress is then shown, redrawn in place); false for a test's writer. */
    boolean stderrTerminal() {
        return stderrTerminal;
    }

    /** Where commands write bytes ({@code cat --format raw}): standard output unless a test gives another stream. */
    OutputStream binaryOut() {
        return binaryOut;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "Missing command: try 'atlas demo' or 'atlas help'");
    }

    /** Builds the command line with the tool's error handling; raw bytes go to {@code System.out}. */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        return commandLine(System.out, out, err);
    }

    /**
     * Builds the command line with the tool's error handling; raw bytes go to {@code binaryOut};
     * {@code err} counts as no terminal (progress only with {@code --progress}).
     */
    public static CommandLine commandLine(OutputStream binaryOut, PrintWriter out, PrintWriter err) {
        return commandLine(binaryOut, out, err, false);
    }

    private static CommandLine commandLine(OutputStream binaryOut, PrintWriter out, PrintWriter err, boolean stderrTerminal) {
        S3Settings.set(new S3Settings(null, false, null)); // each command line starts from the defaults
        BulkSettings.set(new BulkSettings(0, 0));
        CommandLine cl = new CommandLine(new AtlasCli(binaryOut, stderrTerminal));
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            boolean verbose = parseResult.matchedOptionValue("--verbose", false)
                    || parseResult.hasSubcommand() && parseResult.subcommand().matchedOptionValue("--verbose", false);
            Throwable t = unwrap(ex);
            line.getOut().flush();
            line.getErr().println("atlas: " + describe(t));
            if (verbose) {
                t.printStackTrace(line.getErr());
            }
            line.getErr().flush();
            return exitCode(t);
        });
        return cl;
    }

    /** Removes Reactor's and the JDK's checked-exception wrappers. */
    static Throwable unwrap(Throwable t) {
        Throwable u = Exceptions.unwrap(t);
        while (u instanceof UncheckedIOException && u.getCause() != null) {
            u = u.getCause();
        }
        return u;
    }

    static int exitCode(Throwable t) {
        if (t instanceof CliException c) {
            return c.exitCode();
        }
        if (t instanceof NotFoundException || t instanceof NoSuchFileException) {
            return EXIT_NOT_FOUND;
        }
        return EXIT_RUNTIME;
    }

    static String describe(Throwable t) {
        if (t instanceof AtlasException || t instanceof CliException) {
            return t.getMessage();
        }
        if (t instanceof NoSuchFileException) {
            return "no such file: " + t.getMessage();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    public static void main(String[] args) {
        // Before any Netty class loads: with java.nio opened to it (the jar's Add-Opens manifest
        // entry), Netty allocates direct memory without a cleaner and without zeroing it. On JDK 17
        // it otherwise falls back to ByteBuffer.allocateDirect, which zeroes every new pool chunk:
        // 43 % of the codec threads' CPU in a profile of AtlasBench's profile case.
        if (System.getProperty("io.netty.tryReflectionSetAccessible") == null) {
            System.setProperty("io.netty.tryReflectionSetAccessible", "true");
        }
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = commandLine(System.out, out, err, ProgressOption.stderrIsTerminal()).execute(args);
        out.flush();
        System.exit(code);
    }
}
