package dev.atlas.array;

/** What tests observe inside an open file set, through its package-private units. */
final class Probes {
    private Probes() {
    }

    /** Bytes of pending blocks held in memory (the open block and sealed ones not yet spilled). */
    static long pendingBytesInMemory(ArrayFile f) {
        PendingLayer p = f.state.snapshot.pending();
        return p == null ? 0 : p.bytesInMemory();
    }

    /** Streamed bands the writer laid out chunk-major and wrote as blocks without a copy. */
    static long chunkMajorBands(ArrayFile f) {
        return f.writer.chunkMajorBands();
    }
}
