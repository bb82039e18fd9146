package dev.atlas.internal;

import dev.atlas.integrity.Finding;
import dev.atlas.integrity.VerifyProgress;
import dev.atlas.integrity.VerifyReport;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The running state of one verification walk: findings and counts, gathered from engine threads
 * (thread-safe), reported to a progress listener after every step and turned into a
 * {@link VerifyReport} at the end.
 */
public final class VerifyTally {
    private final Consumer<VerifyProgress> listener;
    private final List<Finding> findings = new ArrayList<>();
    private int fileSets;
    private int fileSetsTotal;
    private int layers;
    private long blocks;
    private long bytes;
    private int arrays;

    /** A tally reporting to {@code listener} (null: nobody listens). */
    public VerifyTally(Consumer<VerifyProgress> listener) {
        this.listener = listener == null ? p -> { } : listener;
    }

    /** Records a finding. */
    public void add(Finding.Severity severity, Finding.Kind kind, String object, String detail) {
        synchronized (this) {
            findings.add(new Finding(severity, kind, object, detail));
        }
        progress(object);
    }

    /** Records damage. */
    public void damage(Finding.Kind kind, String object, String detail) {
        add(Finding.Severity.DAMAGE, kind, object, detail);
    }

    /** Records a warning. */
    public void warning(Finding.Kind kind, String object, String detail) {
        add(Finding.Severity.WARNING, kind, object, detail);
    }

    /** Sets how many file sets the walk will check. */
    public synchronized void fileSetsTotal(int n) {
        fileSetsTotal = n;
    }

    /** One more file set checked. */
    public void fileSetDone(String object) {
        synchronized (this) {
            fileSets++;
        }
        progress(object);
    }

    /** One more layer footer read. */
    public synchronized void layer() {
        layers++;
    }

    /** One more array's chunks decoded. */
    public synchronized void array() {
        arrays++;
    }

    /** One more block of {@code storedBytes} read and decoded from {@code object}. */
    public void block(String object, long storedBytes) {
        synchronized (this) {
            blocks++;
            bytes += storedBytes;
        }
        progress(object);
    }

    /** Findings so far. */
    public synchronized int findings() {
        return findings.size();
    }

    private void progress(String object) {
        VerifyProgress p;
        synchronized (this) {
            p = new VerifyProgress(object, fileSets, Math.max(fileSetsTotal, fileSets), blocks, bytes, findings.size());
        }
        listener.accept(p);
    }

    /** The report of the walk over {@code target}. */
    public synchronized VerifyReport report(String target) {
        return new VerifyReport(target, findings, fileSets, layers, blocks, bytes, arrays);
    }
}
