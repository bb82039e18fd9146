package dev.atlas.examples.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The {@code --progress}/{@code --no-progress} option of commands that report progress on stderr
 * ({@code import}, {@code compact}). Progress never goes to stdout, so {@code --json} output stays
 * one document; without the option it is shown only when stderr is a terminal.
 */
final class ProgressOption {
    /** How progress is shown. */
    enum Mode {
        /** Nothing. */
        NONE,
        /** Whole lines now and then (a pipe or a log file, with {@code --progress}). */
        LINES,
        /** One line redrawn in place with {@code \r} (a terminal). */
        REDRAW
    }

    @Option(names = "--progress", negatable = true, description = "Progress on stderr also when stderr is not a terminal (as whole"
            + " lines); --no-progress: none. Default: only on a terminal, redrawn in place.")
    Boolean progress;

    /** The mode for a command whose root is {@code spec}'s: what was asked, else whether stderr is a terminal. */
    Mode mode(CommandSpec spec) {
        boolean terminal = spec.root().userObject() instanceof AtlasCli cli && cli.stderrTerminal();
        if (Boolean.FALSE.equals(progress)) {
            return Mode.NONE;
        }
        if (terminal) {
            return Mode.REDRAW;
        }
        return Boolean.TRUE.equals(progress) ? Mode.LINES : Mode.NONE;
    }

    /**
     * Whether this process's stderr (file descriptor 2) is a terminal. On Linux its
     * {@code /proc/self/fd/2} link names a tty or pty; elsewhere the JVM's console (stdin and
     * stdout on a terminal) is the best guess.
     */
    static boolean stderrIsTerminal() {
        Path fd2 = Path.of("/proc/self/fd/2");
        if (Files.exists(Path.of("/proc/self/fd"))) {
            try {
                String target = Files.readSymbolicLink(fd2).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                return false;
            }
        }
        return System.console() != null;
    }
}
