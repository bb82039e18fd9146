package dev.atlas.internal.format;

import dev.atlas.error.CorruptFileException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.StatValue;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes and encodes stats payloads in the v1 and the unversioned (0.9-0.11) layouts. Pure
 * functions, thread-safe.
 */
final class StatsCodec {
    private static final int STATS_V1_SIZE = 24;
    private static final int STATS_UNVERSIONED_SIZE = 16;
    private static final int ARRAY_STATS_SIZE = 96;

    private StatsCodec() {
    }

    /**
     * Decodes a stats payload: the v1 layout first, then the unversioned 0.9-0.11 layout.
     *
     * @throws CorruptFileException if neither layout decodes
     */
    static StatsFile decode(ByteBuffer payload, String file) {
        ArchiveReader r = new ArchiveReader(payload, file);
        CorruptFileException v1Failure = null;
        if (r.limit() >= STATS_V1_SIZE && (r.limit() - STATS_V1_SIZE) % 8 == 0) {
            long root = r.limit() - STATS_V1_SIZE;
            try {
                long version = r.u32(root);
                if (version != StatsFile.VERSION_V1) {
                    throw r.corrupt("stats version " + version + " is not 1");
                }
                // A v1 root's padding bytes 4..8 are zero.
                if (r.u32(root + 4) != 0) {
                    throw r.corrupt("stats root padding is not zero");
                }
                return new StatsFile(StatsFile.VERSION_V1, readStatsEntries(r, root + 8, root));
            } catch (CorruptFileException e) {
                v1Failure = e;
            }
        }
        if (r.limit() < STATS_UNVERSIONED_SIZE || (r.limit() - STATS_UNVERSIONED_SIZE) % 8 != 0) {
            throw v1Failure != null ? v1Failure
                    : r.corrupt("stats payload of " + r.limit() + " bytes is too short or misaligned");
        }
        long root = r.limit() - STATS_UNVERSIONED_SIZE;
        try {
            return new StatsFile(StatsFile.UNVERSIONED, readStatsEntries(r, root, root));
        } catch (CorruptFileException e) {
            if (v1Failure != null) {
                e.addSuppressed(v1Failure);
            }
            throw e;
        }
    }

    private static List<ArrayStats> readStatsEntries(ArchiveReader r, long fieldAt, long owner) {
        int n = r.vecLength(fieldAt, ARRAY_STATS_SIZE, 8, owner);
        long p = r.vecStart(fieldAt);
        List<ArrayStats> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long at = p + (long) i * ARRAY_STATS_SIZE;
            String name = r.string(at, at);
            StatValue min = readOptionalStat(r, at + 16, at);
            StatValue max = readOptionalStat(r, at + 48, at);
            out.add(new ArrayStats(name, min, max, r.i64(at + 80), r.i64(at + 88)));
        }
        return out;
    }

    private static StatValue readOptionalStat(ArchiveReader r, long at, long owner) {
        int opt = r.u8(at);
        if (opt == 0) {
            return null;
        }
        if (opt != 1) {
            throw r.corrupt("Option tag " + opt + " at payload offset " + at);
        }
        long v = at + 8;
        int tag = r.u8(v);
        switch (tag) {
            case 0: return new StatValue.Int(r.i64(v + 8));
            case 1: return new StatValue.UInt(r.i64(v + 8));
            case 2: return new StatValue.Float(Double.longBitsToDouble(r.i64(v + 8)));
            case 3: return new StatValue.Bytes(r.byteVec(v + 8, owner));
            case 4: return new StatValue.TimestampNs(r.i64(v + 8));
            default: throw r.corrupt("stat value tag " + tag + " at payload offset " + v + " is not 0-4");
        }
    }

    /** Encodes a stats payload in the layout named by {@link StatsFile#version()}. */
    static byte[] encode(StatsFile stats) {
        ArchiveWriter w = new ArchiveWriter();
        List<ArrayStats> entries = stats.arrays();
        int[][] deps = new int[entries.size()][3];
        for (int i = 0; i < entries.size(); i++) {
            ArrayStats s = entries.get(i);
            deps[i][0] = w.stringDeps(s.name());
            deps[i][1] = s.min() instanceof StatValue.Bytes ? w.bytes(((StatValue.Bytes) s.min()).value()) : -1;
            deps[i][2] = s.max() instanceof StatValue.Bytes ? w.bytes(((StatValue.Bytes) s.max()).value()) : -1;
        }
        w.pad(8);
        int entriesAt = w.pos();
        for (int i = 0; i < entries.size(); i++) {
            ArrayStats s = entries.get(i);
            int at = w.reserve(ARRAY_STATS_SIZE);
            w.putString(at, s.name(), deps[i][0]);
            putOptionalStat(w, at + 16, s.min(), deps[i][1]);
            putOptionalStat(w, at + 48, s.max(), deps[i][2]);
            w.put64(at + 80, s.nullCount());
            w.put64(at + 88, s.rowCount());
        }
        w.pad(8);
        if (stats.version() == StatsFile.UNVERSIONED) {
            int root = w.reserve(STATS_UNVERSIONED_SIZE);
            w.putVec(root, entriesAt, entries.size());
        } else {
            int root = w.reserve(STATS_V1_SIZE);
            w.put32(root, stats.version());
            w.putVec(root + 8, entriesAt, entries.size());
        }
        return w.toByteArray();
    }

    private static void putOptionalStat(ArchiveWriter w, int at, StatValue v, int dep) {
        if (v == null) {
            return;
        }
        w.put8(at, 1);
        int p = at + 8;
        w.put8(p, v.tag());
        if (v instanceof StatValue.Int) {
            w.put64(p + 8, ((StatValue.Int) v).value());
        } else if (v instanceof StatValue.UInt) {
            w.put64(p + 8, ((StatValue.UInt) v).value());
        } else if (v instanceof StatValue.Float) {
            w.put64(p + 8, Double.doubleToRawLongBits(((StatValue.Float) v).value()));
        } else if (v instanceof StatValue.Bytes) {
            w.putVec(p + 8, dep, ((StatValue.Bytes) v).value().length);
        } else {
            w.put64(p + 8, ((StatValue.TimestampNs) v).value());
        }
    }
}
