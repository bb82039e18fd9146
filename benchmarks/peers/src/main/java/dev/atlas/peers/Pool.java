package dev.atlas.peers;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** A fixed thread pool for the blocking peers' concurrent work. */
final class Pool {
    private Pool() {
    }

    @FunctionalInterface
    interface Task {
        void run(int i) throws Exception;
    }

    /** Runs {@code task(0..n-1)} on {@code threads} threads; rethrows the first failure. */
    static void run(int n, int threads, Task task) throws Exception {
        if (threads <= 1) {
            for (int i = 0; i < n; i++) {
                task.run(i);
            }
            return;
        }
        ExecutorService ex = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> fs = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int k = i;
                fs.add(ex.submit(() -> {
                    task.run(k);
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            ex.shutdownNow();
        }
    }
}
