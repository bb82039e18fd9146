package dev.atlas.benchmarks;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * Throughput of the checksum the layer records use (CRC-32C) next to CRC-32, on one thread, over
 * one direct buffer of the given size (8 MiB: a block, in cache; 512 MiB: from memory), each for
 * 2 seconds, twice. Run as a source file, no build needed:
 *
 * <pre>
 * java benchmarks/src/main/java/dev/atlas/benchmarks/CrcSpeed.java [bytes]
 * </pre>
 */
public final class CrcSpeed {
    private CrcSpeed() {
    }

    public static void main(String[] args) {
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 8 << 20;
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        SplittableRandom r = new SplittableRandom(1);
        while (b.hasRemaining()) {
            b.put((byte) r.nextInt());
        }
        for (String alg : new String[] {"CRC32C", "CRC32", "CRC32C", "CRC32"}) {
            long total = 0;
            long t0 = System.nanoTime();
            while (System.nanoTime() - t0 < 2_000_000_000L) {
                Checksum c = alg.equals("CRC32C") ? new CRC32C() : new CRC32();
                c.update(b.duplicate().clear());
                total += size;
            }
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("%s: %.1f GB/s = %.1f ms per GB, %d-byte direct buffer%n", alg, total / s / 1e9,
                    1e3 * s / (total / 1e9), size);
        }
    }
}
