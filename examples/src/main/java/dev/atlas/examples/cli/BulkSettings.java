package dev.atlas.examples.cli;

import dev.atlas.store.AtlasOptions;

/**
 * The bulk-read knobs of one command line ({@code --io-concurrency}, {@code --cpu-concurrency}):
 * 0 leaves the engine's default (the I/O concurrency chosen per storage, see
 * {@link AtlasOptions#ioConcurrency(dev.atlas.storage.Storage)}; the CPU concurrency per core).
 */
record BulkSettings(int ioConcurrency, int cpuConcurrency) {
    private static volatile BulkSettings current = new BulkSettings(0, 0);

    static BulkSettings current() {
        return current;
    }

    static void set(BulkSettings s) {
        current = s;
    }

    /** The value of a {@code --io-concurrency} / {@code --cpu-concurrency} option; a usage error below 1. */
    static int checked(String option, int n) {
        if (n < 1) {
            throw CliException.usage(option + " must be at least 1, not " + n);
        }
        return n;
    }

    /** {@code b} with these knobs applied where they are set. */
    AtlasOptions.Builder applyTo(AtlasOptions.Builder b) {
        if (ioConcurrency > 0) {
            b.ioConcurrency(ioConcurrency);
        }
        if (cpuConcurrency > 0) {
            b.cpuConcurrency(cpuConcurrency);
        }
        return b;
    }
}
