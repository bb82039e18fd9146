package dev.atlas.storage.local;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.DType;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

/**
 * The process {@link LocalCrashIT} kills: forever, define array {@code it<i>}, write it, flush,
 * log {@code i} to the acknowledgement file (fsynced) once the flush completed, and compact every
 * few flushes. Started again after each kill, it continues after the highest array it finds. Once
 * the file set is open it creates the ready file (the fourth argument), so the parent can time its
 * kill from there rather than from a JVM start whose length depends on the machine's load.
 */
public final class CrashChild {
    private CrashChild() {
    }

    static int value(int i, int j) {
        return i * 7919 + j;
    }

    static final int LENGTH = 3000;

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Path acks = Path.of(args[1]);
        Random rnd = new Random(Long.parseLong(args[2]));
        EngineResources resources = EngineResources.create(2, 2, PooledByteBufAllocator.DEFAULT);
        LocalStorage storage = LocalStorage.open(root, resources);
        ArrayFileOptions options = ArrayFileOptions.builder(resources)
                .codec(rnd.nextBoolean() ? BlockCodecs.lz4() : BlockCodecs.zstd())
                .blockTargetSize(512 + rnd.nextInt(4096)).tempDirectory(root.getParent()).build();
        ArrayFile f;
        if (storage.list("set.").any(o -> o.key().equals("set.af")).block(TIMEOUT)) {
            f = ArrayFile.open(storage, "set.af", options).block(TIMEOUT);
        } else {
            f = ArrayFile.create(storage, "set.af", options).block(TIMEOUT);
        }
        Files.createFile(Path.of(args[3]));
        int next = 0;
        for (String name : f.listArrays()) {
            next = Math.max(next, Integer.parseInt(name.substring(2)) + 1);
        }
        try (FileChannel ack = FileChannel.open(acks, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            for (int i = next; ; i++) {
                f.defineArray("it" + i, ArraySpec.of(DType.INT32, LENGTH).withChunks(250 + rnd.nextInt(500))).block(TIMEOUT);
                int[] v = new int[LENGTH];
                for (int j = 0; j < LENGTH; j++) {
                    v[j] = value(i, j);
                }
                // two writes: the second patches the middle, so chunks get read-modify-written
                try (NdArray d = NdArray.ofInts(DType.INT32, new long[] {LENGTH}, new int[LENGTH])) {
                    f.writeArray("it" + i, new long[] {0}, d).block(TIMEOUT);
                }
                try (NdArray d = NdArray.ofInts(DType.INT32, new long[] {LENGTH}, v)) {
                    f.writeArray("it" + i, new long[] {0}, d).block(TIMEOUT);
                }
                f.flush().block(TIMEOUT);
                ack.write(ByteBuffer.wrap((i + "\n").getBytes(StandardCharsets.US_ASCII)));
                ack.force(true);
                if (i % 4 == 3) {
                    f.compact().block(TIMEOUT);
                }
            }
        }
    }
}
