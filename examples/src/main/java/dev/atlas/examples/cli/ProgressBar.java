package dev.atlas.examples.cli;

import java.io.PrintWriter;

/**
 * A plain-text progress indicator on stderr. On a terminal it redraws one line with {@code \r}
 * (at most ten times a second); otherwise (a pipe, a log file, a test) it prints one line per
 * tenth of the work, so logs stay readable. Thread-safe.
 */
final class ProgressBar {
    private static final int WIDTH = 30;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintWriter err;
    private final String label;
    private final String unit;
    private final long total;
    private final boolean redraw;
    private final long startNanos = System.nanoTime();
    private long done;
    private long lastDraw;
    private int lastTenth;
    private boolean finished;
    private int drawnWidth;

    /**
     * @param redraw true on a terminal (redraw in place), false for periodic lines
     */
    ProgressBar(PrintWriter err, String label, long total, String unit, boolean redraw) {
        this.err = err;
        this.label = label;
        this.total = Math.max(0, total);
        this.unit = unit;
        this.redraw = redraw;
    }

    /** Whether stderr is probably a terminal: the JVM has a console (stdin and stdout are terminals). */
    static boolean interactive() {
        return System.console() != null;
    }

    /** Adds {@code n} units of finished work. */
    synchronized void advance(long n) {
        done += n;
        long now = System.nanoTime();
        if (redraw) {
            if (now - lastDraw >= REDRAW_NANOS || done >= total) {
                lastDraw = now;
                redraw(line(now));
            }
        } else {
            int tenth = total == 0 ? 10 : (int) Math.min(10, done * 10 / total);
            if (tenth > lastTenth) {
                lastTenth = tenth;
                err.println(line(now));
                err.flush();
            }
        }
    }

    /** Ends the bar (a newline after the redrawn line). Idempotent. */
    synchronized void finish() {
        if (finished) {
            return;
        }
        finished = true;
        if (redraw) {
            redraw(line(System.nanoTime()));
            err.println();
        } else if (lastTenth < 10 && done > 0) {
            err.println(line(System.nanoTime()));
        }
        err.flush();
    }

    /** Overwrites the current line, blanking what a longer earlier line left behind. */
    private void redraw(String line) {
        int pad = Math.max(0, drawnWidth - line.length());
        drawnWidth = line.length();
        err.print("\r" + line + " ".repeat(pad));
        err.flush();
    }

    private String line(long now) {
        double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
        double rate = done / seconds;
        int filled = total == 0 ? WIDTH : (int) Math.min(WIDTH, done * WIDTH / total);
        StringBuilder b = new StringBuilder(label).append(" [");
        b.append("#".repeat(filled)).append(".".repeat(WIDTH - filled)).append("] ");
        b.append(String.format("%3d%% %d/%d %s, %.1f/s", total == 0 ? 100 : done * 100 / total, done, total, unit, rate));
        if (done > 0 && done < total) {
            b.append(String.format(", %ds left", (long) Math.ceil((total - done) / rate)));
        }
        return b.toString();
    }
}
