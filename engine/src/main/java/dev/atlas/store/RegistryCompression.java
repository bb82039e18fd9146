package dev.atlas.store;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.atlas.codec.Lz4SizePrefixed;
import dev.atlas.error.AtlasException;
import dev.atlas.error.CorruptFileException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The compression of registry files, byte-compatible with atlas-rust 0.10: a streamed zstd frame
 * (as {@code zstd::encode_all}) or lz4_flex's size-prepended block (the engine's one
 * {@link Lz4SizePrefixed} format). Decompression never yields more than a given cap.
 */
final class RegistryCompression {
    /** zstd level of new registry frames: the reference's {@code encode_all(_, 0)} means level 3. */
    static final int ZSTD_LEVEL = 3;

    private RegistryCompression() {
    }

    /** Raw bytes wrapped per the registry's compression; a zstd frame carries its content checksum. */
    static byte[] compress(byte[] raw, StoreCodec compression) {
        return compress(raw, compression, true);
    }

    /**
     * Raw bytes wrapped per the registry's compression.
     *
     * @param checksum whether a zstd frame carries its content checksum (verified by every zstd
     *     reader, atlas-rust's included); false reproduces atlas-rust 0.10's frame byte for byte
     */
    static byte[] compress(byte[] raw, StoreCodec compression, boolean checksum) {
        return switch (compression) {
            case UNCOMPRESSED -> raw;
            case ZSTD -> {
                // Streamed like the reference's encode_all: no content size in the frame header;
                // without the checksum the frame is byte-identical to 0.10's for the same input.
                ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length / 4 + 64);
                try (ZstdOutputStream z = new ZstdOutputStream(out, ZSTD_LEVEL)) {
                    z.setChecksum(checksum);
                    z.write(raw);
                } catch (IOException e) {
                    throw new AtlasException("zstd compression of the registry failed: " + e.getMessage(), e);
                }
                yield out.toByteArray();
            }
            case LZ4 -> Lz4SizePrefixed.compress(raw);
        };
    }

    /**
     * The bytes of an lz4 registry, at most {@code maxBytes}.
     *
     * @throws CorruptFileException naming {@code key} for a hostile prefix or a damaged block
     */
    static byte[] unlz4(byte[] bytes, String key, int maxBytes) {
        return Lz4SizePrefixed.decompress(bytes, maxBytes, key);
    }

    /**
     * A stream of the bytes of a zstd registry that fails with {@link CorruptFileException} once it
     * has yielded more than {@code maxBytes}, so a frame that expands beyond the cap (a "bomb") is
     * refused without ever being held in memory. The caller closes it.
     */
    static InputStream unzstd(byte[] bytes, String key, int maxBytes) throws IOException {
        return new CappedInputStream(new ZstdInputStream(new ByteArrayInputStream(bytes)), key, maxBytes);
    }

    /** Fails with {@link CorruptFileException} once more than {@code max} bytes have been read. */
    private static final class CappedInputStream extends InputStream {
        private final InputStream in;
        private final String key;
        private final long max;
        private long count;

        CappedInputStream(InputStream in, String key, long max) {
            this.in = in;
            this.key = key;
            this.max = max;
        }

        private int counted(int n) {
            if (n > 0) {
                count += n;
                if (count > max) {
                    throw new CorruptFileException(key, "registry decompresses to more than the maximum of " + max
                            + " bytes");
                }
            }
            return n;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                counted(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return counted(in.read(b, off, len));
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
