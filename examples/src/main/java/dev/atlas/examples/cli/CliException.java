package dev.atlas.examples.cli;

/**
 * An error the tool reports as one line with a chosen exit code (see {@link AtlasCli} for the
 * codes): a usage mistake the command line parser cannot see (a bad region, too many elements),
 * or something the command cannot do at run time (a directory that is not a store, an unreadable file).
 */
final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    private CliException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    /** A mistake in the command line: exit code {@link AtlasCli#EXIT_USAGE}. */
    static CliException usage(String message) {
        return new CliException(message, AtlasCli.EXIT_USAGE);
    }

    /** Something the command cannot do at run time: exit code {@link AtlasCli#EXIT_RUNTIME}. */
    static CliException runtime(String message) {
        return new CliException(message, AtlasCli.EXIT_RUNTIME);
    }

    int exitCode() {
        return exitCode;
    }
}
