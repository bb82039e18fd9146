package dev.atlas.examples.cli;

import dev.atlas.error.AtlasException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of the {@code atlas} tool. Errors print one line and exit non-zero; {@code --verbose} adds the stack trace. */
@Command(name = "atlas", mixinStandardHelpOptions = true, version = "atlas 0.1.0",
        description = "Inspect and serve chunked n-dimensional array files (.af) and Atlas stores.",
        subcommands = {DumpCommand.class, DemoCommand.class, dev.atlas.examples.server.ServeCommand.class, CommandLine.HelpCommand.class})
public final class AtlasCli implements Runnable {

    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "Missing command: try 'atlas demo' or 'atlas help'");
    }

    /** Builds the command line with the tool's error handling. */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new AtlasCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
            boolean verbose = parseResult.matchedOptionValue("--verbose", false)
                    || parseResult.hasSubcommand() && parseResult.subcommand().matchedOptionValue("--verbose", false);
            line.getErr().println("atlas: " + describe(ex));
            if (verbose) {
                ex.printStackTrace(line.getErr());
            }
            line.getErr().flush();
            return ex instanceof AtlasException ? 2 : 1;
        });
        return cl;
    }

    static String describe(Throwable t) {
        if (t instanceof AtlasException) {
            return t.getMessage();
        }
        if (t instanceof java.nio.file.NoSuchFileException) {
            return "no such file: " + t.getMessage();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code = commandLine(out, err).execute(args);
        out.flush();
        System.exit(code);
    }
}
