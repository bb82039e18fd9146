package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/**
 * Runs the atlas tool in-process, as {@code main} does, and captures what it printed; opens a store
 * a command wrote to check what is in it.
 */
public final class Cli {
    private Cli() {
    }

    /** What one run produced. */
    public record Run(int code, String out, String err, byte[] bytes) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    public static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = AtlasCli.commandLine(bytes, new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString(), bytes.toByteArray());
    }

    /** A check of a whole store. */
    @FunctionalInterface
    interface StoreCheck {
        void check(Atlas atlas) throws Exception;
    }

    /** Opens the local store in {@code dir} with resources of its own, runs {@code check}, then closes both. */
    static void checkStore(Path dir, StoreCheck check) throws Exception {
        EngineResources resources = EngineResources.create();
        try {
            Atlas atlas = LocalAtlas.open(dir, AtlasOptions.builder(resources).build()).block(TIMEOUT);
            try {
                check.check(atlas);
            } finally {
                atlas.close().block(TIMEOUT);
            }
        } finally {
            resources.disposeLater().block(TIMEOUT);
        }
    }
}
