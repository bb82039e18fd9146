package dev.atlas.examples.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the atlas tool in-process, as {@code main} does, and captures what it printed. */
final class Cli {
    private Cli() {
    }

    /** What one run produced. */
    record Run(int code, String out, String err, byte[] bytes) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = AtlasCli.commandLine(bytes, new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString(), bytes.toByteArray());
    }
}
