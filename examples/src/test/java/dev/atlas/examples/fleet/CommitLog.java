package dev.atlas.examples.fleet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A writer's log of what it committed, one line per event, each line written with one
 * {@code write} and forced to disk before the writer goes on, so a SIGKILLed writer leaves every
 * line it wrote (at most the last one cut off, which parsing skips):
 * {@code <kind> <round> <epoch millis> <payload>}. The fleet writers log {@code flushing} before a
 * flush (payload: the state it commits) and {@code ack} once {@link dev.atlas.store.Atlas#flush()}
 * returned (the same state): an acknowledged commit. A state is {@code id:version,...} or
 * {@code -} for no dataset.
 */
final class CommitLog implements AutoCloseable {
    private final FileChannel out;

    private CommitLog(FileChannel out) {
        this.out = out;
    }

    static CommitLog append(Path file) throws IOException {
        return new CommitLog(FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND));
    }

    /** Appends one line and forces it to disk. */
    void log(String kind, long round, String payload) {
        String line = kind + " " + round + " " + System.currentTimeMillis() + " " + payload + "\n";
        try {
            ByteBuffer b = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                out.write(b);
            }
            out.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /** One line. */
    record Entry(String kind, long round, long millis, String payload) {
        Map<Long, Long> state() {
            return parseState(payload);
        }
    }

    /** The complete lines of {@code file} (none when it does not exist yet). */
    static List<Entry> read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Entry> entries = new ArrayList<>();
        int end = text.lastIndexOf('\n');
        if (end < 0) {
            return entries;
        }
        for (String line : text.substring(0, end).split("\n")) {
            String[] p = line.split(" ", 4);
            if (p.length < 4) {
                continue;
            }
            try {
                entries.add(new Entry(p[0], Long.parseLong(p[1]), Long.parseLong(p[2]), p[3]));
            } catch (NumberFormatException e) {
                // not a line of ours
            }
        }
        return Collections.unmodifiableList(entries);
    }

    static String formatState(Map<Long, Long> state) {
        if (state.isEmpty()) {
            return "-";
        }
        StringBuilder sb = new StringBuilder();
        state.forEach((id, v) -> sb.append(sb.length() == 0 ? "" : ",").append(id).append(':').append(v));
        return sb.toString();
    }

    static Map<Long, Long> parseState(String s) {
        Map<Long, Long> state = new TreeMap<>();
        if (s.equals("-")) {
            return state;
        }
        for (String kv : s.split(",")) {
            int c = kv.indexOf(':');
            state.put(Long.parseLong(kv.substring(0, c)), Long.parseLong(kv.substring(c + 1)));
        }
        return state;
    }

    /**
     * The commits of a single-writer log: rounds whose {@code flushing} line is followed by their
     * {@code ack}, in order, and the rounds flushed after the last ack without one (the writer was
     * killed in them, or is flushing right now): each of those may or may not have committed.
     */
    record Commits(List<Entry> acked, List<Entry> pending) {
        static Commits of(List<Entry> entries) {
            List<Entry> acked = new ArrayList<>();
            List<Entry> pending = new ArrayList<>();
            for (Entry e : entries) {
                if (e.kind().equals("flushing")) {
                    pending.add(e);
                } else if (e.kind().equals("ack")) {
                    acked.add(e);
                    pending.clear();
                }
            }
            return new Commits(acked, pending);
        }

        Entry last() {
            return acked.isEmpty() ? null : acked.get(acked.size() - 1);
        }

        Map<Long, Long> lastState() {
            return acked.isEmpty() ? new TreeMap<>() : last().state();
        }

        /**
         * Which committed state {@code found} is: {@code "ack"} (the last acknowledged one),
         * {@code "pending N"} (the unacknowledged flush of round N), or null (neither: a lost or
         * half commit).
         */
        String match(Map<Long, Long> found) {
            if (found.equals(lastState())) {
                return "ack";
            }
            for (Entry p : pending) {
                if (found.equals(p.state())) {
                    return "pending " + p.round();
                }
            }
            return null;
        }

        String describe() {
            StringBuilder sb = new StringBuilder("last acknowledged: ");
            sb.append(acked.isEmpty() ? "none (empty store)" : "round " + last().round() + " " + last().payload());
            for (Entry p : pending) {
                sb.append("; unacknowledged flush of round ").append(p.round()).append(": ").append(p.payload());
            }
            return sb.toString();
        }
    }
}
