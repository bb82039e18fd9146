package dev.atlas.examples.cli;

import dev.atlas.examples.netcdf.NcImporter;
import java.io.PrintWriter;

/**
 * Progress of an import in bytes of values, on stderr. On a terminal one line is redrawn (at most
 * ten times a second) with the total, the rate and the file and variable being copied; otherwise
 * (a pipe, a log) it prints a line when a variable of at least {@link #LINE_BYTES} starts and at
 * every tenth of it, and one line per finished file, so logs show where a long import is. Shared
 * by the importing threads; each thread reports through its own {@link #forFile} view.
 */
final class ImportProgress {
    /** Variables at least this large get their own lines when not on a terminal. */
    static final long LINE_BYTES = 64L << 20;
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final boolean redraw;
    private final long total;
    private final int files;
    private final long startNanos = System.nanoTime();
    private long done;
    private int filesDone;
    private long lastDraw;
    private int drawnWidth;
    private String current = "";

    ImportProgress(PrintWriter err, boolean redraw, long total, int files) {
        this.err = err;
        this.redraw = redraw;
        this.total = Math.max(0, total);
        this.files = files;
    }

    /** A progress sink for one importing thread. */
    NcImporter.Progress forFile() {
        return new NcImporter.Progress() {
            private long varBytes;
            private long varDone;
            private int varTenth;
            private String label;

            @Override
            public void variable(String file, String variable, long bytes) {
                label = file + ":" + variable;
                varBytes = bytes;
                varDone = 0;
                varTenth = 0;
                synchronized (ImportProgress.this) {
                    current = label;
                    if (!redraw && bytes >= LINE_BYTES) {
                        line("import " + label + " (" + Values.bytes(bytes) + ") started");
                    }
                }
            }

            @Override
            public void advance(long bytes) {
                varDone += bytes;
                synchronized (ImportProgress.this) {
                    done += bytes;
                    if (redraw) {
                        long now = System.nanoTime();
                        if (now - lastDraw >= REDRAW_NANOS) {
                            lastDraw = now;
                            draw();
                        }
                    } else if (varBytes >= LINE_BYTES) {
                        int tenth = (int) Math.min(10, varDone * 10 / varBytes);
                        if (tenth > varTenth) {
                            varTenth = tenth;
                            line("import " + label + " " + tenth * 10 + "% of " + Values.bytes(varBytes) + "; " + summary());
                        }
                    }
                }
            }
        };
    }

    /** A file finished (or failed): one line off a terminal, the counter on one. */
    synchronized void fileDone(String message) {
        filesDone++;
        if (redraw) {
            clear();
            err.println(message);
            draw();
        } else {
            line(message + " (" + filesDone + "/" + files + " files; " + summary() + ")");
        }
        err.flush();
    }

    /** Ends the redrawn line. */
    synchronized void finish() {
        if (redraw && drawnWidth > 0) {
            draw();
            err.println();
            err.flush();
        }
    }

    private String summary() {
        double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        return String.format("%s of %s, %s/s", Values.bytes(done), Values.bytes(total), Values.bytes((long) (done / seconds)));
    }

    private void line(String s) {
        err.println(s);
        err.flush();
    }

    private void clear() {
        if (drawnWidth > 0) {
            err.print("\r" + " ".repeat(drawnWidth) + "\r");
            drawnWidth = 0;
        }
    }

    private void draw() {
        int filled = total == 0 ? WIDTH : (int) Math.min(WIDTH, done * WIDTH / Math.max(1, total));
        String line = "import [" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] "
                + (total == 0 ? 100 : done * 100 / total) + "% " + summary() + ", " + filesDone + "/" + files + " files, " + current;
        int pad = Math.max(0, drawnWidth - line.length());
        drawnWidth = line.length();
        err.print("\r" + line + " ".repeat(pad));
        err.flush();
    }
}
