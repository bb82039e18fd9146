package dev.atlas.array;

import dev.atlas.error.CorruptFileException;
import dev.atlas.error.NotFoundException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.StatValue;
import dev.atlas.integrity.Finding;
import dev.atlas.internal.VerifyTally;
import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The verification walk over one file set: every committed layer's trailer and footer (against
 * the layer's checksum record when it has one), every block of those layers read from storage,
 * checked and decoded through {@link BlockSource} (the path reads and compactions take, so
 * whatever it checks, the walk checks; verification is on whatever the options say), then every visible array
 * read chunk by chunk to recompute its statistics, which must equal the stored ones when the
 * stats file is stamped for this stack. Damage becomes a finding in the tally, never an error,
 * so one walk lists all of it; only a failure to run (storage unreachable) is an error.
 */
final class FileSetVerifier {
    private FileSetVerifier() {
    }

    /**
     * Verifies the file set whose base is {@code base}, counting the sidecars {@code commits}
     * commits (later ones and ones the base absorbed are not read: no read ever sees them).
     *
     * @return the visible arrays' schemas by name (for the store's cross-check), or empty when
     *     the file set could not be opened because of damage already reported
     * @throws NotFoundException (as an error signal) if the base object does not exist
     */
    static Mono<Optional<Map<String, ArrayMeta>>> verify(Storage storage, String base, ArrayFileOptions given,
            CommittedLayers commits, VerifyTally tally) {
        return Mono.defer(() -> {
            ArrayFileOptions options = given.verifying();
            String stem = LayerStackLoader.stemOf(base);
            String statsKey = LayerNames.stats(stem);
            return storage.list(stem + ".").collectList().flatMap(objects -> {
                LayerStackLoader.Listing listing = LayerStackLoader.Listing.of(objects, base, stem, statsKey);
                ObjectInfo baseInfo = listing.base();
                ObjectInfo statsInfo = listing.stats();
                TreeMap<Long, ObjectInfo> sidecars = new TreeMap<>(listing.sidecars());
                sidecars.keySet().removeIf(n -> !commits.includes(n));
                if (baseInfo == null) {
                    return Mono.error(new NotFoundException("file set '" + base + "' has no base object"));
                }
                ObjectInfo stats = statsInfo;
                return layer(storage, baseInfo, 0, options, tally).flatMap(b -> {
                    long absorbed = b.map(l -> l.footer().overlayIndex()).orElse(0L);
                    List<Map.Entry<Long, ObjectInfo>> live = sidecars.entrySet().stream().filter(e -> e.getKey() > absorbed)
                            .toList();
                    return Flux.fromIterable(live)
                            .concatMap(e -> layer(storage, e.getValue(), e.getKey(), options, tally), 0)
                            .collectList()
                            .flatMap(rest -> {
                                List<LayerStack.Layer> good = new ArrayList<>();
                                b.ifPresent(good::add);
                                rest.forEach(o -> o.ifPresent(good::add));
                                // The arrays are read only from layers whose footers and blocks all
                                // decoded: damage found is reported once, not again for each chunk.
                                boolean whole = good.size() == rest.size() + 1;
                                int before = tally.findings();
                                Mono<Boolean> statsReadable = stats == null ? Mono.just(false) : statsFile(storage, stats, tally);
                                return blocks(storage, good, options, tally)
                                        .then(statsReadable)
                                        .flatMap(readable -> whole && tally.findings() == before
                                                ? arrays(storage, base, options, commits, stats, readable, tally)
                                                : Mono.just(Optional.<Map<String, ArrayMeta>>empty()));
                            });
                });
            }).doOnSuccess(x -> tally.fileSetDone(base));
        });
    }

    /** The footer of one layer, or empty with a finding when it is damaged. */
    private static Mono<Optional<LayerStack.Layer>> layer(Storage storage, ObjectInfo info, long number,
            ArrayFileOptions options, VerifyTally tally) {
        return LayerStackLoader.readLayer(storage, info, number, options)
                .map(l -> {
                    tally.layer();
                    return Optional.of(l);
                })
                .onErrorResume(CorruptFileException.class, e -> {
                    tally.damage(Finding.Kind.FOOTER, info.key(), "layer does not decode: " + problem(e, info.key()));
                    return Mono.just(Optional.empty());
                });
    }

    /** Reads and decodes every block of {@code layers}, past the caches; a block that fails is a finding. */
    private static Mono<Void> blocks(Storage storage, List<LayerStack.Layer> layers, ArrayFileOptions options,
            VerifyTally tally) {
        BlockSource source = new BlockSource(storage, options, new AtomicLong(), new AtomicLong());
        return Flux.fromIterable(layers)
                .concatMap(l -> Flux.fromIterable(l.footer().blocks())
                        .flatMap(b -> block(source, l, b, tally), options.readConcurrency()), 0)
                .then();
    }

    /** Block {@code b} of layer {@code l}, read as a compaction reads it: past the caches, checked against the layer's checksum record. */
    private static Mono<Void> block(BlockSource source, LayerStack.Layer l, BlockMeta b, VerifyTally tally) {
        String key = l.object().key();
        ReadPlanner.BlockRead read = new ReadPlanner.BlockRead(key, List.of(), List.of(), l.object(), b, false, null,
                new java.util.concurrent.atomic.AtomicBoolean(), l.checksums());
        return source.fetchUncached(read)
                .map(buf -> {
                    buf.release(); // mapped away, so then() never discards a released buffer
                    return b;
                })
                .doOnSuccess(x -> tally.block(key, b.compressedSize()))
                .onErrorResume(CorruptFileException.class, e -> {
                    tally.damage(Finding.Kind.BLOCK, key, "block " + b.id() + " (bytes " + b.fileOffset() + ".."
                            + b.fileEnd() + ", " + b.codec() + ") does not decode: " + problem(e, key));
                    return Mono.empty();
                })
                .then();
    }

    /**
     * Opens the file set and recomputes every visible
     * array's statistics from its chunks (decoding each one), comparing them with the stored ones
     * when those are stamped for this very stack.
     */
    private static Mono<Optional<Map<String, ArrayMeta>>> arrays(Storage storage, String base, ArrayFileOptions options,
            CommittedLayers commits, ObjectInfo statsInfo, boolean readable, VerifyTally tally) {
        return ArrayFile.open(storage, base, options, latest -> Mono.just(commits))
                .flatMap(f -> {
                    if (readable && f.statsStatus() == ArrayFile.StatsStatus.STALE) {
                        tally.warning(Finding.Kind.STATS, statsInfo.key(), "statistics are stamped for another layer stack:"
                                + " a crash between a flush and its statistics, or a damaged footer (the stamp covers each"
                                + " footer's CRC); not served, rewritten by the next flush");
                    }
                    boolean compare = readable && f.statsStatus() == ArrayFile.StatsStatus.CURRENT;
                    Map<String, ArrayMeta> metas = new LinkedHashMap<>();
                    for (String name : f.listArrays()) {
                        metas.put(name, f.arrayMeta(name));
                    }
                    return Flux.fromIterable(metas.keySet())
                            .concatMap(name -> f.computeStats(name)
                                    .doOnNext(computed -> {
                                        tally.array();
                                        ArrayStats stored = f.arrayStats(name);
                                        if (compare && stored != null && !same(stored, computed)) {
                                            tally.damage(Finding.Kind.STATS, statsInfo.key(), "statistics of array '" + name
                                                    + "' differ from its data: stored " + show(stored) + ", computed "
                                                    + show(computed));
                                        }
                                    })
                                    .onErrorResume(CorruptFileException.class, e -> {
                                        tally.damage(Finding.Kind.CHUNK, e.file(), "array '" + name
                                                + "' does not read: " + problem(e, e.file()));
                                        return Mono.empty();
                                    }), 0)
                            .then(f.close())
                            .thenReturn(Optional.of(metas));
                })
                .onErrorResume(CorruptFileException.class, e -> {
                    // Every layer decoded on its own, but the stack does not merge.
                    tally.damage(Finding.Kind.FOOTER, e.file(), "the layers do not merge: " + problem(e, e.file()));
                    return Mono.just(Optional.empty());
                })
                .onErrorResume(dev.atlas.error.ObjectChangedException.class, e -> {
                    // The base absorbed a sidecar the commit record does not count: the record is older than the data.
                    tally.damage(Finding.Kind.CROSS_CHECK, base, e.getMessage());
                    return Mono.just(Optional.empty());
                });
    }

    /** Decodes the stats object; false, with a finding, when it does not decode. */
    private static Mono<Boolean> statsFile(Storage storage, ObjectInfo info, VerifyTally tally) {
        if (info.size() > Integer.MAX_VALUE - 8) {
            tally.damage(Finding.Kind.STATS, info.key(), "stats file of " + info.size() + " bytes is too large");
            return Mono.just(false);
        }
        return storage.read(info.key(), 0, info.size(), info.version()).map(b -> {
            try {
                Trailer.decodeStampedStatsFile(b.nioBuffer(), info.key());
                return true;
            } finally {
                b.release();
            }
        }).onErrorResume(CorruptFileException.class, e -> {
            tally.damage(Finding.Kind.STATS, info.key(), "stats file does not decode: " + problem(e, info.key()));
            return Mono.just(false);
        });
    }

    /** Equal statistics; float extremes compare as numbers (merge order may pick -0.0 or 0.0). */
    static boolean same(ArrayStats a, ArrayStats b) {
        return a.nullCount() == b.nullCount() && a.rowCount() == b.rowCount() && same(a.min(), b.min())
                && same(a.max(), b.max());
    }

    private static boolean same(StatValue a, StatValue b) {
        if (a instanceof StatValue.Float x && b instanceof StatValue.Float y) {
            return x.value() == y.value() || Double.isNaN(x.value()) && Double.isNaN(y.value());
        }
        return a == null ? b == null : a.equals(b);
    }

    private static String show(ArrayStats s) {
        return "min " + s.min() + ", max " + s.max() + ", nulls " + Long.toUnsignedString(s.nullCount()) + " of "
                + Long.toUnsignedString(s.rowCount());
    }

    /** The message of {@code e} without the leading object key it already names. */
    private static String problem(CorruptFileException e, String key) {
        String m = e.getMessage();
        return m.startsWith(key + ": ") ? m.substring(key.length() + 2) : m;
    }
}
