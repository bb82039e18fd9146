package dev.atlas.examples.fleet;

import static dev.atlas.testing.Await.TIMEOUT;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A child JVM on the test class path running one main class: its output (stdout and stderr
 * merged) is read line by line as it comes, kept, and copied to a log file, so a test can wait
 * for a marker line (bounded) instead of sleeping, and a failure message can show the tail.
 * {@link #kill()} is SIGKILL; {@link #close()} kills too and is safe to call twice.
 */
final class ChildJvm implements AutoCloseable {
    /** Small heaps and a fast-starting JIT: the fleet starts many short-lived JVMs on two cores. */
    private static final List<String> JVM_OPTIONS = List.of("-Xmx384m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-Xshare:auto");

    private final String name;
    private final Process process;
    private final Path log;
    private final List<String> lines = new ArrayList<>();
    private final List<Long> lineMillis = new ArrayList<>();
    private final Thread pump;
    private boolean ended;
    /** Every child still running, killed by a shutdown hook should the test JVM end before its tests' cleanup. */
    private static final java.util.Set<Process> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "kill-fleet-children"));
    }

    private ChildJvm(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.pump = new Thread(this::pump, "out-" + name);
        this.pump.setDaemon(true);
        this.pump.start();
        LIVE.add(process);
        process.onExit().thenRun(() -> LIVE.remove(process));
    }

    /** Starts {@code main} with {@code args}; the log goes to {@code logDir/name.log} (appended). */
    static ChildJvm start(String name, Path logDir, Map<String, String> env, String main, List<String> args)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main);
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Files.createDirectories(logDir);
        return new ChildJvm(name, pb.start(), logDir.resolve(name + ".log"));
    }

    private void pump() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter copy = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
            String line;
            while ((line = in.readLine()) != null) {
                copy.println(line);
                copy.flush();
                synchronized (this) {
                    lines.add(line);
                    lineMillis.add(System.currentTimeMillis());
                    notifyAll();
                }
            }
        } catch (IOException e) {
            // the process died: its stream ends
        } finally {
            synchronized (this) {
                ended = true;
                notifyAll();
            }
        }
    }

    String name() {
        return name;
    }

    Process process() {
        return process;
    }

    boolean alive() {
        return process.isAlive();
    }

    /** The lines so far. */
    synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /** When line {@code i} arrived. */
    synchronized long lineMillis(int i) {
        return lineMillis.get(i);
    }

    /**
     * Waits (at most {@code timeout}) for a line at index {@code from} or later that {@code match}
     * accepts; returns its index, or -1 when the output ended or the time passed first.
     */
    synchronized int await(int from, Predicate<String> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int i = from;
        while (true) {
            for (; i < lines.size(); i++) {
                if (match.test(lines.get(i))) {
                    return i;
                }
            }
            long left = deadline - System.nanoTime();
            if (ended || left <= 0) {
                return -1;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    /** {@link #await} within {@link dev.atlas.testing.Await#TIMEOUT}, failing with the log tail when it does not come. */
    int require(int from, Predicate<String> match, String what) throws InterruptedException {
        int i = await(from, match, TIMEOUT);
        if (i < 0) {
            throw missing(what);
        }
        return i;
    }

    /**
     * Waits for a line {@code match} accepts as long as the child keeps printing: each line must come
     * within {@link dev.atlas.testing.Await#TIMEOUT} of the one before (a child working through many
     * rounds is not hung), failing with the log tail (and a thread dump) when one does not.
     */
    int requireWithProgress(int from, Predicate<String> match, String what) throws InterruptedException {
        int at = from;
        while (true) {
            int i = await(at, l -> true, TIMEOUT);
            if (i < 0) {
                throw missing(what);
            }
            if (match.test(lines().get(i))) {
                return i;
            }
            at = i + 1;
        }
    }

    private AssertionError missing(String what) throws InterruptedException {
        // Its output ended (it is exiting) or it printed nothing for the whole bound (hung).
        boolean hung = !process.waitFor(5, TimeUnit.SECONDS);
        if (hung) {
            dumpThreads();
        }
        return new AssertionError(name + ": no " + what + " line " + (hung ? "within " + TIMEOUT + " (thread dump below)"
                : "before it exited with " + process.exitValue()) + "; its output ends with:\n" + tail(hung ? 150 : 40));
    }

    /** Asks the child for a thread dump on its output (SIGQUIT) and gives it a moment to print it. */
    private void dumpThreads() throws InterruptedException {
        try {
            new ProcessBuilder("kill", "-QUIT", Long.toString(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
            int before = lines().size();
            await(before, l -> l.startsWith("JNI global refs"), Duration.ofSeconds(5));
        } catch (IOException e) {
            // no kill command: no dump
        }
    }

    /**
     * A thread dump of the running child (SIGQUIT) and the last {@code n} lines of its output, for
     * a test that failed while the child still runs (a hung request shows in the dump).
     */
    String diagnose(int n) throws InterruptedException {
        if (process.isAlive()) {
            dumpThreads();
        }
        return tail(n);
    }

    /** The last {@code n} lines, for failure messages. */
    synchronized String tail(int n) {
        return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }

    /** SIGKILL, then waits for the process and its output to end. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        pump.join(TIMEOUT.toMillis());
    }

    /** SIGTERM (shutdown hooks run), SIGKILL after {@code grace}. */
    void stop(Duration grace) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
        }
        process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        pump.join(TIMEOUT.toMillis());
    }

    /** Waits (bounded) for the process to exit by itself; its exit code, or -1 if it did not. */
    int waitForExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return -1;
        }
        pump.join(TIMEOUT.toMillis());
        return process.exitValue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }
}
