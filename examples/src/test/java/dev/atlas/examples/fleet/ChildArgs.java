package dev.atlas.examples.fleet;

import dev.atlas.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** {@code key=value} arguments of the fleet's child mains, and what they share: output lines, the go file. */
final class ChildArgs {
    private final Map<String, String> values = new HashMap<>();

    ChildArgs(String[] args) {
        for (String a : args) {
            int eq = a.indexOf('=');
            values.put(a.substring(0, eq), a.substring(eq + 1));
        }
    }

    String get(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing argument " + key + "=");
        }
        return v;
    }

    String get(String key, String otherwise) {
        return values.getOrDefault(key, otherwise);
    }

    long number(String key, long otherwise) {
        return values.containsKey(key) ? Long.parseLong(values.get(key)) : otherwise;
    }

    Path path(String key) {
        return Path.of(get(key));
    }

    /** Prints one line for the parent, at once. */
    static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    /** Waits (within {@link Await#TIMEOUT}) for the parent's go file, when {@code go=} names one. */
    void awaitGo() throws InterruptedException {
        String go = values.get("go");
        if (go == null) {
            return;
        }
        Path p = Path.of(go);
        if (!Await.poll(() -> Files.exists(p), Boolean::booleanValue, Duration.ofMillis(10))) {
            say("error no go file " + p + " within " + Await.TIMEOUT);
            System.exit(4);
        }
    }

    /** One line of an exception: class and message. */
    static String describe(Throwable t) {
        String m = t.getMessage() == null ? "" : t.getMessage().replace('\n', ' ');
        return t.getClass().getName() + " " + m;
    }
}
