package dev.atlas.integrity;

import java.util.Objects;

/**
 * One thing a verification found: how bad it is, what kind of object it concerns, the object (a
 * storage key) and what is wrong, in words that name the block, array or dataset involved.
 *
 * @param severity {@link Severity#DAMAGE} when stored bytes are wrong or the store contradicts
 *     itself; {@link Severity#WARNING} for a state the engine tolerates (stale statistics, garbage
 *     a compaction removes)
 * @param kind what the finding is about
 * @param object the storage key of the object concerned
 * @param detail what is wrong, one line
 */
public record Finding(Severity severity, Kind kind, String object, String detail) {

    /** How bad a finding is. */
    public enum Severity {
        /** Stored bytes do not decode or do not match what they claim; reads of them fail or would be wrong. */
        DAMAGE,
        /** Tolerated by the engine, worth knowing: stale statistics, unreferenced garbage. */
        WARNING
    }

    /** What a finding is about. */
    public enum Kind {
        /** A layer's trailer or footer (a short or truncated file included). */
        FOOTER,
        /** A block of a layer: it did not read, decompress or pass its checksum. */
        BLOCK,
        /** A chunk of an array: its block decoded, the chunk's own bytes did not. */
        CHUNK,
        /** The statistics file: it does not decode, or its values differ from the data. */
        STATS,
        /** The registry object: it does not decode, or its digest does not match. */
        REGISTRY,
        /** The registry and the array files disagree (a missing file set, entry, or a differing schema). */
        CROSS_CHECK,
        /** Objects no commit references (garbage of a failed commit or a deleted dataset). */
        GARBAGE
    }

    public Finding {
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(object, "object");
        Objects.requireNonNull(detail, "detail");
    }

    /** True for {@link Severity#DAMAGE}. */
    public boolean isDamage() {
        return severity == Severity.DAMAGE;
    }

    @Override
    public String toString() {
        return severity + " " + kind + " " + object + ": " + detail;
    }
}
