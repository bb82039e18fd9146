package dev.atlas.integrity;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of a verification walk: every finding, in the order found, and what was checked.
 * Damage is reported here rather than thrown, so one walk lists all of it.
 *
 * @param target what was verified (a store prefix or a file set's base key)
 * @param findings every finding
 * @param fileSets file sets checked
 * @param layers layer files whose footer was read
 * @param blocks blocks read and decoded
 * @param bytes stored bytes of those blocks
 * @param arrays arrays whose chunks were decoded and statistics recomputed
 */
public record VerifyReport(String target, List<Finding> findings, int fileSets, int layers, long blocks, long bytes,
        int arrays) {

    public VerifyReport {
        Objects.requireNonNull(target, "target");
        findings = List.copyOf(findings);
    }

    /** True when nothing is damaged (warnings allowed). */
    public boolean clean() {
        return damage().isEmpty();
    }

    /** The findings of {@link Finding.Severity#DAMAGE}. */
    public List<Finding> damage() {
        return findings.stream().filter(Finding::isDamage).toList();
    }

    /** The findings of {@link Finding.Severity#WARNING}. */
    public List<Finding> warnings() {
        return findings.stream().filter(f -> !f.isDamage()).toList();
    }
}
