package dev.atlas.array;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.testing.EngineTestBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/**
 * An adopted spill file is synced in the background every {@code syncBehindBytes} while the
 * writer goes on (so a flush's own sync has little left), and a layer written that way reads back
 * exactly; a spill file that is copied at flush, never.
 */
class SyncBehindTest extends EngineTestBase {
    private static final int ROWS = 256;
    private static final int COLS = 1024;

    private static ByteBuf data() {
        // Filled through a ByteBuffer: paranoid leak detection records every ByteBuf access.
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(ROWS * COLS * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < ROWS * COLS; i++) {
            b.putInt(i * 4, i * 7919);
        }
        return Unpooled.wrappedBuffer(b);
    }

    /** Background syncs of the pending layer's spill file so far. */
    private static long syncsBehind(ArrayFile f) {
        PendingLayer p = f.state.snapshot.pending();
        return p == null ? 0 : p.syncsBehind();
    }

    private static long writeAndCountSyncs(LocalStorage s, ArrayFileOptions o) {
        ArrayFile f = ArrayFile.create(s, "x.af", o).block(TIMEOUT);
        try {
            f.defineArray("v", ArraySpec.of(DType.INT32, ROWS, COLS).withChunks(16, 1024)).block(TIMEOUT);
            try (NdArray a = NdArray.wrap(DType.INT32, new long[] {ROWS, COLS}, data())) {
                f.writeArray("v", new long[] {0, 0}, a).block(TIMEOUT);
            }
            // The syncs run in the background: wait for the ones the 1 MiB of spills started.
            long deadline = System.nanoTime() + 5_000_000_000L;
            boolean expectSyncs = o.adoptSpillFiles() && o.syncBehindBytes() > 0;
            while (expectSyncs && syncsBehind(f) == 0 && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
            long syncs = syncsBehind(f);
            f.flush().block(TIMEOUT);
            return syncs;
        } finally {
            f.close().block(TIMEOUT);
        }
    }

    private static void checkContent(LocalStorage s, ArrayFileOptions o) {
        ArrayFile f = ArrayFile.open(s, "x.af", o).block(TIMEOUT);
        try (NdArray a = f.readArray("v").block(TIMEOUT)) {
            java.nio.ByteBuffer v = a.buffer().nioBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < ROWS * COLS; i++) {
                if (v.getInt(i * 4) != i * 7919) {
                    assertEquals(i * 7919, v.getInt(i * 4), "element " + i);
                }
            }
        } finally {
            f.close().block(TIMEOUT);
        }
    }

    @Test
    void adoptedSpillFilesAreSyncedBehindTheWriterAndReadBackExactly() {
        ArrayFileOptions.Builder b = ArrayFileOptions.builder(resources).codec(BlockCodecs.none()).blockTargetSize(64 * 1024)
                .writeConcurrency(2).syncBehindBytes(128 * 1024).tempDirectory(tmp);
        try (LocalStorage adopting = LocalStorage.open(tmp.resolve("adopt"), resources);
                LocalStorage copying = LocalStorage.open(tmp.resolve("copy"), resources);
                LocalStorage off = LocalStorage.open(tmp.resolve("off"), resources)) {
            long syncs = writeAndCountSyncs(adopting, b.build());
            assertTrue(syncs >= 1, "1 MiB spilled in 64 KiB blocks, a sync every 128 KiB: " + syncs + " syncs");
            checkContent(adopting, b.build());
            ArrayFileOptions copy = b.adoptSpillFiles(false).build();
            assertEquals(0, writeAndCountSyncs(copying, copy), "a spill file copied at flush is never synced");
            checkContent(copying, copy);
            assertEquals(0, writeAndCountSyncs(off, b.adoptSpillFiles(true).syncBehindBytes(0).build()), "syncBehindBytes(0) turns them off");
        }
        assertThrows(InvalidArgumentException.class, () -> ArrayFileOptions.builder(resources).syncBehindBytes(-1));
    }
}
