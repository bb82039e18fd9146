package dev.atlas.array;

import dev.atlas.error.StorageException;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.scheduler.Scheduler;

/**
 * The local spill file of a pending layer: compressed sealed blocks, appended once and read by
 * position. Reference counted: the pending layer holds one reference and every read in flight
 * another, so a flush that finishes while a reader still reads its blocks does not pull the file
 * from under it. The last release closes and deletes the file on the I/O scheduler. All I/O
 * methods block and must run on the I/O scheduler.
 */
final class TempFile extends AbstractReferenceCounted {
    private static final Logger LOG = LoggerFactory.getLogger(TempFile.class);

    private final Path path;
    private final FileChannel channel;
    private final Scheduler io;

    private TempFile(Path path, FileChannel channel, Scheduler io) {
        this.path = path;
        this.channel = channel;
        this.io = io;
    }

    /** Creates a new empty spill file in {@code dir} (blocking). */
    static TempFile create(Path dir, Scheduler io) {
        return create(dir, "atlas-pending-", false, io);
    }

    /**
     * Creates a new empty spill file in {@code dir} whose name starts with {@code prefix}
     * (blocking).
     *
     * @param keepName true when the file may be linked elsewhere by name (adopted as an object):
     *     it keeps its name until released (a crash leaves it behind, for the owner's sweep); false
     *     unlinks the name at once (on Unix), so even a crash leaves nothing
     */
    static TempFile create(Path dir, String prefix, boolean keepName, Scheduler io) {
        Path p = null;
        try {
            Files.createDirectories(dir);
            // A file that may become an object gets the permissions any new file gets (the umask's),
            // not createTempFile's owner-only ones.
            p = keepName ? Files.createFile(dir.resolve(prefix + java.util.UUID.randomUUID() + ".tmp"))
                    : Files.createTempFile(dir, prefix, ".tmp");
            FileChannel ch = keepName ? FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.DELETE_ON_CLOSE);
            return new TempFile(p, ch, io);
        } catch (IOException | RuntimeException e) {
            if (p != null) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            }
            throw new StorageException("cannot create a spill file in " + dir + ": " + e.getMessage(), false, e);
        }
    }

    /** Writes all of {@code src} at {@code position} (blocking). */
    void write(ByteBuffer src, long position) {
        try {
            long at = position;
            while (src.hasRemaining()) {
                at += channel.write(src, at);
            }
        } catch (IOException e) {
            throw new StorageException("cannot write spill file " + path + ": " + e.getMessage(), false, e);
        }
    }

    /** Fills {@code dst} from {@code position} (blocking). */
    void read(ByteBuffer dst, long position) {
        try {
            long at = position;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, at);
                if (n < 0) {
                    throw new StorageException("spill file " + path + " ends at " + at + ", before the data", false);
                }
                at += n;
            }
        } catch (IOException e) {
            throw new StorageException("cannot read spill file " + path + ": " + e.getMessage(), false, e);
        }
    }

    /** Cuts the file to {@code size} bytes (blocking). */
    void truncate(long size) {
        try {
            channel.truncate(size);
        } catch (IOException e) {
            throw new StorageException("cannot truncate spill file " + path + ": " + e.getMessage(), false, e);
        }
    }

    /** Forces the file's content to the device (blocking). */
    void force() {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw new StorageException("cannot sync spill file " + path + ": " + e.getMessage(), false, e);
        }
    }

    Path path() {
        return path;
    }

    @Override
    protected void deallocate() {
        Runnable close = () -> {
            try {
                channel.close();
                Files.deleteIfExists(path);
            } catch (IOException e) {
                LOG.warn("cannot remove spill file {}: {}", path, e.getMessage());
            }
        };
        try {
            io.schedule(close);
        } catch (RuntimeException rejected) {
            close.run();
        }
    }

    @Override
    public ReferenceCounted touch(Object hint) {
        return this;
    }
}
