package dev.atlas.store;

import dev.atlas.error.CorruptFileException;

/**
 * The length check that runs before MessagePack registry bytes reach the parser: every declared
 * length and count must fit in the bytes that follow, so a hostile header cannot make the parser
 * allocate what the input cannot back.
 */
final class MsgPackBounds {
    private MsgPackBounds() {
    }

    /**
     * Walks the MessagePack value structure without decoding it and checks that it is exactly one
     * value whose every string, binary and extension length fits in the bytes that follow its
     * header, and whose every array and map count could be backed by them. msgpack-core allocates a
     * declared length before reading it, so a 5-byte {@code str 32} header claiming 2 GiB would
     * otherwise exhaust the heap.
     */
    static void check(byte[] b, String key) {
        int pos = 0;
        long pending = 1;
        while (pending > 0) {
            if (pos >= b.length) {
                throw new CorruptFileException(key, "MessagePack registry ends early at byte " + pos);
            }
            int h = b[pos++] & 0xFF;
            pending--;
            long skip = 0;
            long children = 0;
            if (h <= 0x7F || h >= 0xE0) {
                skip = 0; // fixint
            } else if (h <= 0x8F) {
                children = 2L * (h & 0x0F);
            } else if (h <= 0x9F) {
                children = h & 0x0F;
            } else if (h <= 0xBF) {
                skip = h & 0x1F;
            } else {
                switch (h) {
                    case 0xC0, 0xC2, 0xC3 -> skip = 0;
                    case 0xC4, 0xD9 -> skip = uint(b, pos, 1, key);
                    case 0xC5, 0xDA -> skip = uint(b, pos, 2, key);
                    case 0xC6, 0xDB -> skip = uint(b, pos, 4, key);
                    case 0xC7 -> skip = uint(b, pos, 1, key) + 1;
                    case 0xC8 -> skip = uint(b, pos, 2, key) + 1;
                    case 0xC9 -> skip = uint(b, pos, 4, key) + 1;
                    case 0xCA, 0xCE, 0xD2 -> skip = 4;
                    case 0xCB, 0xCF, 0xD3 -> skip = 8;
                    case 0xCC, 0xD0 -> skip = 1;
                    case 0xCD, 0xD1 -> skip = 2;
                    case 0xD4 -> skip = 2;
                    case 0xD5 -> skip = 3;
                    case 0xD6 -> skip = 5;
                    case 0xD7 -> skip = 9;
                    case 0xD8 -> skip = 17;
                    case 0xDC -> children = uint(b, pos, 2, key);
                    case 0xDD -> children = uint(b, pos, 4, key);
                    case 0xDE -> children = 2 * uint(b, pos, 2, key);
                    case 0xDF -> children = 2 * uint(b, pos, 4, key);
                    default -> throw new CorruptFileException(key, "MessagePack registry has the unused byte 0xc1 at "
                            + (pos - 1));
                }
                pos += switch (h) {
                    case 0xC4, 0xD9, 0xC7 -> 1;
                    case 0xC5, 0xDA, 0xC8, 0xDC, 0xDE -> 2;
                    case 0xC6, 0xDB, 0xC9, 0xDD, 0xDF -> 4;
                    default -> 0;
                };
            }
            if (skip > b.length - pos) {
                throw new CorruptFileException(key, "MessagePack value at byte " + (pos - 1) + " claims " + skip
                        + " bytes, " + (b.length - pos) + " remain");
            }
            pos += (int) skip;
            pending += children;
            if (pending > b.length - pos) {
                throw new CorruptFileException(key, "MessagePack registry declares " + pending + " more values than its "
                        + (b.length - pos) + " remaining bytes can hold");
            }
        }
        if (pos != b.length) {
            throw new CorruptFileException(key, "trailing data after the registry at byte " + pos);
        }
    }

    private static long uint(byte[] b, int pos, int width, String key) {
        if (width > b.length - pos) {
            throw new CorruptFileException(key, "MessagePack registry ends early at byte " + pos);
        }
        long v = 0;
        for (int i = 0; i < width; i++) {
            v = v << 8 | (b[pos + i] & 0xFF);
        }
        return v;
    }
}
