package dev.atlas.buffer;

import dev.atlas.error.InvalidArgumentException;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledUnsafeDirectByteBuf;
import io.netty.util.internal.CleanableDirectBuffer;
import io.netty.util.internal.PlatformDependent;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * An allocator for block-sized direct buffers on top of a pooled one. Netty's pooled allocator
 * serves buffers up to its chunk size (4 MiB by default) from arenas, and anything larger, like the
 * engine's 8 MiB blocks, is a fresh {@code malloc}/{@code free} each time, with page faults on first
 * touch. Even 1-4 MiB buffers churn there: a read of many 1 MiB blocks empties and frees whole 4 MiB
 * pool chunks and allocates, zeroes and faults in new ones (in a profile of whole-array reads of
 * 1 MiB blocks, {@code PoolArena.newChunk}, its zeroing and page faults were 7 % of all samples).
 * The same happens to the 256 KiB blocks of a bulk read: the block cache evicts the previous read's
 * decoded blocks, the pool chunks they emptied are freed, and the next read's blocks land in new,
 * zeroed chunks ({@code PoolArena$DirectArena.newChunk} zeroing was 27 % of the engine threads'
 * samples of {@code AtlasBench profile} N=1000). This allocator keeps released direct buffers from
 * its smallest pooled size ({@link #MEDIUM} for {@link #create(ByteBufAllocator)} and
 * {@link #shared()}, {@link #LARGE} for {@link #create(ByteBufAllocator, int, long)}) up to
 * {@code maxPooledSize} in per-size-class free lists (classes of 64 KiB below {@link #LARGE}, of
 * 1 MiB from there) up to {@code maxIdle} idle bytes, and hands out exact-capacity views of them;
 * everything smaller (and heap buffers) goes to the delegate.
 * New memory comes from Netty's own direct allocation ({@code PlatformDependent.allocateDirect}):
 * where Netty can allocate without a cleaner (on JDK 17: {@code --add-opens
 * java.base/java.nio=ALL-UNNAMED} and {@code -Dio.netty.tryReflectionSetAccessible=true}) it is
 * counted against Netty's direct memory limit and not zeroed; otherwise it is a JDK direct buffer,
 * zeroed. Either way a released buffer is reused,
 * and {@link #shared()} keeps one pool for the process. (A fresh pool per engine-resources
 * instance, zeroing every new 2-10 MiB buffer, was 8-10 % of the CPU of a cold bulk read in a
 * profile of the demo store's stacked slice.)
 * Thread-safe and lock-free.
 */
public final class BlockBufferAllocator extends AbstractByteBufAllocator {
    /**
     * From this size on, size classes are 1 MiB apart; it is also the smallest pooled size of
     * {@link #create(ByteBufAllocator, int, long)} (below: the delegate's arenas).
     */
    public static final int LARGE = 1 << 20;
    /**
     * The smallest pooled size of {@link #create(ByteBufAllocator)} and {@link #shared()}: decoded
     * blocks (256 KiB by default) and the storage ranges of bulk reads are recycled here; classes
     * below {@link #LARGE} are 64 KiB apart.
     */
    public static final int MEDIUM = 64 << 10;
    private static final int CLASS = 1 << 20;
    private static final int MEDIUM_CLASS = 64 << 10;
    /** Free-list slots below {@link #LARGE}: classes 64 KiB, 128 KiB, ..., 1 MiB - 64 KiB. */
    private static final int MEDIUM_SLOTS = LARGE / MEDIUM_CLASS - 1;

    private final ByteBufAllocator delegate;
    private final int minPooledSize;
    private final int maxPooledSize;
    private final long maxIdle;
    /** Free lists by size class ({@link #slot}): the medium classes, then the 1 MiB classes up to maxPooledSize. */
    private final ConcurrentLinkedDeque<CleanableDirectBuffer>[] free;
    private final AtomicLong idle = new AtomicLong();
    private final LongAdder reused = new LongAdder();
    private final LongAdder allocated = new LongAdder();

    /** The process-wide instance {@link #shared()} returns. */
    private static final class Shared {
        static final BlockBufferAllocator INSTANCE = create(io.netty.buffer.PooledByteBufAllocator.DEFAULT);
    }

    @SuppressWarnings("unchecked")
    private BlockBufferAllocator(ByteBufAllocator delegate, int minPooledSize, int maxPooledSize, long maxIdle) {
        super(true);
        this.delegate = delegate;
        this.minPooledSize = minPooledSize;
        this.maxPooledSize = maxPooledSize;
        this.maxIdle = maxIdle;
        this.free = new ConcurrentLinkedDeque[MEDIUM_SLOTS + (int) (((long) maxPooledSize + CLASS - 1) / CLASS)];
        for (int i = 0; i < free.length; i++) {
            free[i] = new ConcurrentLinkedDeque<>();
        }
    }

    /**
     * @param delegate serves buffers below {@link #LARGE} and all heap buffers
     * @param maxPooledSize largest buffer kept for reuse (larger ones are allocated and freed each time)
     * @param maxIdle most bytes kept idle in the free lists
     */
    public static BlockBufferAllocator create(ByteBufAllocator delegate, int maxPooledSize, long maxIdle) {
        return create(delegate, LARGE, maxPooledSize, maxIdle);
    }

    /**
     * @param delegate serves buffers below {@code minPooledSize} and all heap buffers
     * @param minPooledSize smallest buffer kept for reuse, at least {@link #MEDIUM} (sizes below
     *     {@link #LARGE} are rounded up to a multiple of 64 KiB, from there to a multiple of 1 MiB)
     * @param maxPooledSize largest buffer kept for reuse (larger ones are allocated and freed each
     *     time), at least {@link #LARGE}
     * @param maxIdle most bytes kept idle in the free lists
     */
    public static BlockBufferAllocator create(ByteBufAllocator delegate, int minPooledSize, int maxPooledSize, long maxIdle) {
        if (minPooledSize < MEDIUM || minPooledSize > LARGE || maxPooledSize < LARGE || maxIdle < 0) {
            throw new InvalidArgumentException("minPooledSize must be in [" + MEDIUM + ", " + LARGE + "], maxPooledSize >= "
                    + LARGE + " and maxIdle >= 0");
        }
        return new BlockBufferAllocator(delegate, minPooledSize, maxPooledSize, maxIdle);
    }

    /**
     * Reuses buffers from {@link #MEDIUM} (64 KiB) up to 64 MiB, keeping at most 256 MiB (and at
     * most an eighth of the JVM's direct memory limit) idle.
     */
    public static BlockBufferAllocator create(ByteBufAllocator delegate) {
        long max = PlatformDependent.maxDirectMemory();
        long idle = max <= 0 ? 256L << 20 : Math.min(256L << 20, max / 8);
        return create(delegate, MEDIUM, 64 << 20, idle);
    }

    /**
     * One instance for the whole process over Netty's {@code PooledByteBufAllocator.DEFAULT}, with
     * {@link #create(ByteBufAllocator)}'s limits: the free lists are a memory pool like Netty's own,
     * shared by every {@code EngineResources.create()} (a new set of engine resources starts with
     * cold caches, not with memory that still has to be faulted in).
     */
    public static BlockBufferAllocator shared() {
        return Shared.INSTANCE;
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return delegate.heapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        if (initialCapacity < minPooledSize || !PlatformDependent.hasUnsafe()) {
            return delegate.directBuffer(initialCapacity, maxCapacity);
        }
        long exact = classSize(initialCapacity);
        boolean pooled = exact <= maxPooledSize;
        // Beyond the pooled sizes the class may be clamped to the largest buffer Java allows; such
        // memory is freed on release, never listed (a listed buffer always has its class's capacity).
        int cls = (int) Math.min(Integer.MAX_VALUE - 8, exact);
        CleanableDirectBuffer mem = null;
        if (pooled) {
            mem = free[slot(cls)].pollFirst();
            if (mem != null) {
                idle.addAndGet(-cls);
                reused.increment();
            }
        }
        if (mem == null) {
            mem = PlatformDependent.allocateDirect(cls);
            allocated.increment();
        }
        ByteBuffer view = mem.buffer().duplicate().clear().limit(initialCapacity).slice();
        return toLeakAwareBuffer(new Recycled(this, mem, view, maxCapacity));
    }

    /** The size class of a request: a multiple of 64 KiB below {@link #LARGE}, of 1 MiB from there. */
    private static long classSize(int capacity) {
        long unit = capacity < LARGE ? MEDIUM_CLASS : CLASS;
        return ((long) capacity + unit - 1) / unit * unit;
    }

    /** The free list of size class {@code cls} (at most maxPooledSize). */
    private static int slot(int cls) {
        return cls < LARGE ? cls / MEDIUM_CLASS - 1 : MEDIUM_SLOTS + cls / CLASS - 1;
    }

    /** Takes back the memory of a released buffer, or frees it when the free lists are full. */
    private void recycle(CleanableDirectBuffer mem) {
        int cls = mem.buffer().capacity();
        boolean listable = cls <= maxPooledSize && classSize(cls) == cls;
        if (listable && idle.addAndGet(cls) <= maxIdle) {
            free[slot(cls)].offerFirst(mem);
            return;
        }
        if (listable) {
            idle.addAndGet(-cls);
        }
        free(mem);
    }

    private static void free(CleanableDirectBuffer mem) {
        mem.clean();
    }

    /** Drops the idle buffers (their memory is freed). */
    public void trim() {
        for (ConcurrentLinkedDeque<CleanableDirectBuffer> q : free) {
            for (CleanableDirectBuffer b; (b = q.pollFirst()) != null; ) {
                idle.addAndGet(-b.buffer().capacity());
                free(b);
            }
        }
    }

    /** Bytes currently idle in the free lists. */
    public long idleBytes() {
        return idle.get();
    }

    /** Large allocations served from the free lists so far. */
    public long reusedCount() {
        return reused.sum();
    }

    /** Large allocations that needed new memory so far. */
    public long allocatedCount() {
        return allocated.sum();
    }

    @Override
    public boolean isDirectBufferPooled() {
        return true;
    }

    /** A direct buffer over a view of pooled memory; releasing it gives the memory back. */
    private static final class Recycled extends UnpooledUnsafeDirectByteBuf {
        private final BlockBufferAllocator owner;
        private CleanableDirectBuffer memory;

        Recycled(BlockBufferAllocator owner, CleanableDirectBuffer memory, ByteBuffer view, int maxCapacity) {
            super(owner, view, Math.max(maxCapacity, view.capacity()));
            this.owner = owner;
            this.memory = memory;
            clear(); // a wrapped buffer starts readable; a new allocation starts empty
        }

        @Override
        protected void deallocate() {
            super.deallocate(); // does not free: the buffer was handed in, not allocated here
            CleanableDirectBuffer m = memory;
            memory = null;
            if (m != null) {
                owner.recycle(m);
            }
        }
    }
}
