package dev.atlas.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns Netty leak reports into test failures. Installed once per test JVM (by
 * {@link AtlasTestSession}) before any buffer class initialises, it replaces Netty's leak
 * detector factory with one whose detectors record every report; {@link #collect()} forces
 * garbage collection, lets the detectors poll their reference queues, and returns what they found.
 */
public final class LeakTracker {
    private static final List<String> LEAKS = new ArrayList<>();
    private static volatile boolean installed;

    private LeakTracker() {
    }

    /** Installs the recording factory (idempotent). */
    @SuppressWarnings("deprecation")
    public static synchronized void install() {
        if (installed) {
            return;
        }
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
            @Override
            @SuppressWarnings("deprecation")
            public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                    long maxActive) {
                return new RecordingDetector<>(resource, samplingInterval);
            }
        });
        installed = true;
    }

    public static boolean installed() {
        return installed;
    }

    /** Runs GC until leak reports settle and returns (and clears) the reports collected so far. */
    public static List<String> collect() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            // Each tracked allocation makes the detector drain its queue of collected buffers.
            for (int j = 0; j < 4; j++) {
                ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(8);
                b.release();
                ByteBuf h = PooledByteBufAllocator.DEFAULT.heapBuffer(8);
                h.release();
            }
        }
        synchronized (LEAKS) {
            List<String> out = new ArrayList<>(LEAKS);
            LEAKS.clear();
            return out;
        }
    }

    /** Records a leak report (also used by the self-test). */
    static void record(String report) {
        synchronized (LEAKS) {
            LEAKS.add(report);
        }
    }

    private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
        RecordingDetector(Class<T> resource, int samplingInterval) {
            super(resource, samplingInterval);
        }

        @Override
        protected boolean needReport() {
            return true;
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            record("LEAK: " + resourceType + " was not released\n" + records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            record("LEAK: " + resourceType + " was not released (no access records)");
        }
    }
}
