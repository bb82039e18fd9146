package dev.atlas.testing;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;
import reactor.blockhound.BlockHound;

/**
 * Runs once when a test JVM's JUnit launcher session opens, before any test class loads: installs
 * the leak-recording detector factory (so every Netty buffer is tracked at paranoid level) and
 * BlockHound (so a blocking call on a non-blocking thread fails the test that made it).
 */
public final class AtlasTestSession implements LauncherSessionListener {
    private static volatile boolean blockHoundInstalled;

    @Override
    public void launcherSessionOpened(LauncherSession session) {
        LeakTracker.install();
        installBlockHound();
    }

    /** Installs BlockHound once per JVM. */
    public static synchronized void installBlockHound() {
        if (!blockHoundInstalled) {
            BlockHound.install(b -> b
                    // Caffeine's bounded cache drains its buffers under a short internal lock; a
                    // writer that finds the write buffer full spins, then waits for that lock (it
                    // holds for one maintenance pass, like a contended monitor, which BlockHound
                    // does not flag either). The read caches rely on Caffeine for admission.
                    .allowBlockingCallsInside("com.github.benmanes.caffeine.cache.BoundedLocalCache", "afterWrite")
                    .allowBlockingCallsInside("com.github.benmanes.caffeine.cache.BoundedLocalCache", "performCleanUp")
                    // Netty 4.2's adaptive allocator (reactor-netty's default for socket reads)
                    // takes a magazine's StampedLock while it grows its magazine group: a short
                    // internal critical section, not I/O (seen on the event loop of the S3 fault proxy).
                    .allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines")
                    // An idle codec thread waits for its next task in the pool's queue. Reactor's own
                    // integration allows DelayedWorkQueue.take; a worker above the core size (one
                    // replacing a worker that is exiting) waits with the timed poll instead, which
                    // was once flagged on atlas-codec-2 while idle, between tasks.
                    .allowBlockingCallsInside("java.util.concurrent.ScheduledThreadPoolExecutor$DelayedWorkQueue", "poll")
                    // The same worker, deciding whether it may exit, asks whether the queue is empty
                    // (under the queue's lock): flagged on idle atlas-codec threads in the examples'
                    // tests, where the error ended the worker (the pool replaced it).
                    .allowBlockingCallsInside("java.util.concurrent.ScheduledThreadPoolExecutor$DelayedWorkQueue", "isEmpty"));
            blockHoundInstalled = true;
        }
    }

    public static boolean blockHoundInstalled() {
        return blockHoundInstalled;
    }
}
