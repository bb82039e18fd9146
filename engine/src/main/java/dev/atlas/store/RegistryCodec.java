package dev.atlas.store;

import dev.atlas.error.CorruptFileException;
import dev.atlas.format.DType;
import java.io.IOException;
import java.io.InputStream;

/**
 * Encodes and decodes the registry file ({@code atlas.json}, {@code atlas.msgpack}, each raw,
 * {@code .zst} or {@code .lz4}), byte-compatible with atlas-rust 0.10: serde_json's pretty printer
 * for JSON, rmp_serde's named maps for MessagePack, a standard zstd frame, lz4_flex's
 * size-prepended block. Some fields are ours and ignored by 0.10 (serde skips unknown fields):
 * top-level {@code content_crc32c} (a digest of the content, checked on read), {@code layers},
 * {@code excluded_layers}, {@code revisions} and {@code footer_version}, and per-dataset
 * {@code string_attributes}; see {@code FORMAT.md} 13.5. The work is done by {@link RegistryWriter}, {@link RegistryReader} and
 * {@link RegistryCompression}; this class composes them and holds the one registry size limit.
 *
 * <p>Decoding maps every malformed input to {@link CorruptFileException} naming the key, and never
 * materialises more than {@link #MAX_REGISTRY_BYTES} decoded bytes.
 */
final class RegistryCodec {
    /**
     * The one registry size limit: the largest registry object read, and the largest decoded
     * (uncompressed) registry accepted or written. 1 GiB is several million array schemas (a
     * registry of a million datasets is ~100 MiB), far beyond any store we expect, and keeps a
     * hostile size field from exhausting the heap (a Java array cannot exceed 2 GiB anyway).
     */
    static final int MAX_REGISTRY_BYTES = 1 << 30;

    private RegistryCodec() {
    }

    /** Serializes and compresses {@code r} as {@code file}. */
    static byte[] encode(Registry r, RegistryFile file) {
        return compress(RegistryWriter.serialize(r, file.format()), file.compression());
    }

    /** Raw bytes wrapped per the registry's compression (a zstd frame with its content checksum). */
    static byte[] compress(byte[] raw, StoreCodec compression) {
        return RegistryCompression.compress(raw, compression);
    }

    /** As {@link #compress(byte[], StoreCodec)}; {@code checksum} false reproduces atlas-rust 0.10's zstd frame exactly. */
    static byte[] compress(byte[] raw, StoreCodec compression, boolean checksum) {
        return RegistryCompression.compress(raw, compression, checksum);
    }

    /** serde's snake_case of the reference's variant names ({@code UInt8} is {@code u_int8}). */
    static String serdeTag(DType.Kind k) {
        return DTypeTag.of(k);
    }

    /**
     * Refuses a registry object of {@code bytes} bytes above {@code maxBytes} before it is read or
     * parsed.
     *
     * @throws CorruptFileException naming {@code key}
     */
    static void checkSize(long bytes, long maxBytes, String key) {
        if (bytes > maxBytes) {
            throw new CorruptFileException(key, "registry of " + bytes + " bytes exceeds the maximum of " + maxBytes);
        }
    }

    /** Decompresses and parses a registry object; {@code key} names it in errors. */
    static Registry decode(byte[] bytes, RegistryFile file, String key) {
        return decode(bytes, file, key, MAX_REGISTRY_BYTES);
    }

    /**
     * {@link #decode(byte[], RegistryFile, String)} with another cap on the decoded size. A zstd
     * registry is parsed while it streams out of the decompressor, so a frame that expands beyond
     * the cap (a "bomb") is refused after {@code maxBytes} without ever being held in memory.
     */
    static Registry decode(byte[] bytes, RegistryFile file, String key, int maxBytes) {
        RegistryFormat format = file.format();
        return switch (file.compression()) {
            case UNCOMPRESSED -> {
                checkSize(bytes.length, maxBytes, key);
                yield RegistryReader.parse(bytes, format, key);
            }
            case LZ4 -> RegistryReader.parse(RegistryCompression.unlz4(bytes, key, maxBytes), format, key);
            case ZSTD -> {
                try (InputStream in = RegistryCompression.unzstd(bytes, key, maxBytes)) {
                    yield RegistryReader.parse(in, format, key);
                } catch (IOException | RuntimeException e) {
                    throw RegistryReader.corrupt(key, e);
                }
            }
        };
    }
}
