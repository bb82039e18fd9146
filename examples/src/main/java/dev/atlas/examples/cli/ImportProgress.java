package dev.atlas.examples.cli;

import dev.atlas.examples.netcdf.NcImporter;
import java.io.PrintWriter;

/**
 * Progress of an import in bytes of values, on stderr, in bytes of the whole import and of each
 * file. On a terminal ({@link ProgressOption.Mode#REDRAW}) one line is redrawn at most ten times a
 * second: the total, the rate, files done, and the file being copied with its own bytes done of
 * its total and the variable. As whole lines ({@link ProgressOption.Mode#LINES}, a pipe or log
 * with {@code --progress}): a line at every tenth of a file of at least {@link #LINE_BYTES}, and
 * one per finished file, so logs show where a long import is. {@link ProgressOption.Mode#NONE}
 * prints nothing. Shared by the importing threads; each reports through its own {@link #forFile}.
 */
final class ImportProgress {
    /** Files at least this large get a line per tenth when progress goes out as lines. */
    static final long LINE_BYTES = 64L << 20;
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final ProgressOption.Mode mode;
    private final long total;
    private final int files;
    private final long lineBytes;
    private final long startNanos = System.nanoTime();
    private long done;
    private int filesDone;
    private long lastDraw;
    private int drawnWidth;
    private String current = "";

    ImportProgress(PrintWriter err, ProgressOption.Mode mode, long total, int files) {
        this(err, mode, total, files, LINE_BYTES);
    }

    /** As above, with files of at least {@code lineBytes} reported per tenth as lines. */
    ImportProgress(PrintWriter err, ProgressOption.Mode mode, long total, int files, long lineBytes) {
        this.err = err;
        this.mode = mode;
        this.total = Math.max(0, total);
        this.files = files;
        this.lineBytes = lineBytes;
    }

    /** A progress sink for one file, of {@code fileBytes} bytes of values, imported by one thread. */
    NcImporter.Progress forFile(String file, long fileBytes) {
        return new NcImporter.Progress() {
            private long fileDone;
            private int fileTenth;
            private String variable = "";

            @Override
            public void variable(String f, String v, long bytes) {
                variable = v;
                synchronized (ImportProgress.this) {
                    current = fileLabel();
                }
            }

            @Override
            public void advance(long bytes) {
                fileDone += bytes;
                synchronized (ImportProgress.this) {
                    done += bytes;
                    if (mode == ProgressOption.Mode.REDRAW) {
                        current = fileLabel();
                        long now = System.nanoTime();
                        if (now - lastDraw >= REDRAW_NANOS) {
                            lastDraw = now;
                            draw();
                        }
                    } else if (mode == ProgressOption.Mode.LINES && fileBytes >= lineBytes && fileBytes > 0) {
                        int tenth = (int) Math.min(10, fileDone * 10 / fileBytes);
                        if (tenth > fileTenth && tenth < 10) {
                            fileTenth = tenth;
                            line("import " + file + " " + tenth * 10 + "%: " + Values.bytes(fileDone) + " of "
                                    + Values.bytes(fileBytes) + " (variable " + variable + "); " + summary());
                        }
                    }
                }
            }

            private String fileLabel() {
                return file + " " + Values.bytes(fileDone) + " of " + Values.bytes(fileBytes) + " (" + variable + ")";
            }
        };
    }

    /** A file finished (or failed): one line off a terminal, the counter on one. */
    synchronized void fileDone(String message) {
        filesDone++;
        if (mode == ProgressOption.Mode.REDRAW) {
            clear();
            err.println(message);
            draw();
        } else if (mode == ProgressOption.Mode.LINES) {
            line(message + " (" + filesDone + "/" + files + " files; " + summary() + ")");
        }
        err.flush();
    }

    /** Ends the redrawn line. */
    synchronized void finish() {
        if (mode == ProgressOption.Mode.REDRAW && drawnWidth > 0) {
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
