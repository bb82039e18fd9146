package dev.atlas.examples.cli;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.internal.format.InMemoryFileSet;
import dev.atlas.internal.format.LayerNames;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/** Reads a file set from local disk with plain file reads: the base, its sidecars (one directory listing) and stats. */
final class LocalFileSet {
    private LocalFileSet() {
    }

    /** Layer files of the set whose base is {@code base}, base first, sidecars by number. */
    static List<Path> layers(Path base) {
        String fileName = base.getFileName().toString();
        String stem;
        try {
            stem = LayerNames.stem(fileName);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(e.getMessage());
        }
        if (!Files.isRegularFile(base)) {
            throw new NotFoundException("no base file " + base);
        }
        Path dir = base.toAbsolutePath().getParent();
        TreeMap<Long, Path> sidecars = new TreeMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, stem + ".*" + LayerNames.SUFFIX)) {
            for (Path p : ds) {
                long n = LayerNames.sidecarNumber(stem, p.getFileName().toString());
                if (n > 0 && Files.isRegularFile(p)) {
                    sidecars.put(n, p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Path> out = new ArrayList<>();
        out.add(base);
        out.addAll(sidecars.values());
        return out;
    }

    static InMemoryFileSet open(Path base) throws IOException {
        List<Path> layers = layers(base);
        List<String> names = new ArrayList<>();
        List<ByteBuffer> bytes = new ArrayList<>();
        for (Path p : layers) {
            names.add(p.getFileName().toString());
            bytes.add(ByteBuffer.wrap(Files.readAllBytes(p)));
        }
        String statsName = LayerNames.stats(LayerNames.stem(base.getFileName().toString()));
        Path stats = base.toAbsolutePath().getParent().resolve(statsName);
        ByteBuffer statsBytes = Files.isRegularFile(stats) ? ByteBuffer.wrap(Files.readAllBytes(stats)) : null;
        return InMemoryFileSet.decode(names, bytes, statsName, statsBytes, PooledByteBufAllocator.DEFAULT);
    }
}
