package dev.atlas.array;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.AtlasException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.internal.format.Checksums;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.FooterCodec;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Loads a file set's committed state: lists the objects of its stem, classifies them (base,
 * sidecars, stats), tail-reads every layer footer concurrently and decides which layers are live,
 * absorbed or uncommitted. Also writes the empty base of a new file set.
 */
final class LayerStackLoader {
    private static final Logger LOG = LoggerFactory.getLogger(LayerStackLoader.class);

    private LayerStackLoader() {
    }

    /**
     * What an open found: the live stack, the options to write with, the sidecars not committed
     * (newest first: another writer's commit in progress, or garbage of a failed one), the stats
     * object (null: none), and the highest sidecar number in use (committed or not).
     */
    record Loaded(LayerStack stack, ArrayFileOptions options, List<ObjectInfo> uncommitted, ObjectInfo statsObject,
            long highestNumber, Trailer.StampedStats stats) {
    }

    /** The stats object as last read or written, and its content (so an unchanged one is not read again). */
    record KnownStats(ObjectInfo object, Trailer.StampedStats stats) {
    }

    /** One layer's footer read: the layer, or the error reading it. */
    private record LayerRead(int index, LayerStack.Layer layer, AtlasException error) {
    }

    static String stemOf(String base) {
        try {
            return LayerNames.stem(base);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(e.getMessage());
        }
    }

    private static boolean isFileSetMember(String stem, String base, String key) {
        return key.equals(base) || key.equals(LayerNames.stats(stem)) || LayerNames.sidecarNumber(stem, key) > 0;
    }

    /** Same object, same incarnation (the modification time is not compared: backends report it with varying precision). */
    static boolean sameObject(ObjectInfo a, ObjectInfo b) {
        return a.key().equals(b.key()) && a.size() == b.size() && a.version().equals(b.version());
    }

    /** Writes the empty base of a new file set with create-if-absent; fails if any object of the stem exists. */
    static Mono<LayerStack> create(Storage storage, String base, ArrayFileOptions options) {
        return Mono.defer(() -> {
            String stem = stemOf(base);
            return storage.list(stem + ".").filter(o -> isFileSetMember(stem, base, o.key())).collectList().flatMap(found -> {
                if (!found.isEmpty()) {
                    return Mono.error(new AlreadyExistsException("file set '" + base + "' already has objects: "
                            + found.stream().map(ObjectInfo::key).toList()));
                }
                Checksums.Tail t = Checksums.tail(Footer.empty(options.footerVersion()), new int[0], 0,
                        options.writeChecksums());
                byte[] file = t.tail();
                return storage.putIfAbsent(base, Mono.fromSupplier(() -> Unpooled.wrappedBuffer(file))).map(info -> {
                    LayerStack.Layer l = LayerStack.Layer.of(info, t.footer(), file.length - t.payload().length - Trailer.SIZE,
                            0, LayerStack.crc(ByteBuffer.wrap(t.payload())), options.verifyChecksums() ? t.checksums() : null);
                    return LayerStack.of(List.of(l), null, null, List.of(), 0);
                });
            });
        });
    }

    /**
     * Loads the stack of at most {@code maxLayers} layers that {@code commits} counts as committed.
     * Costs one listing, one speculative tail read per layer not in {@code known} (all
     * concurrently; a layer whose object is unchanged is reused) and one stats read.
     *
     * @param known layers loaded before, by key (empty on a first open)
     * @throws dev.atlas.error.ObjectChangedException (as an error signal) when the base absorbed a
     *     sidecar the commit record does not count yet: the record is older than the files, and the
     *     caller should load again with a newer one
     */
    static Mono<Loaded> open(Storage storage, String base, ArrayFileOptions options0, int maxLayers, CommittedLayers commits,
            Map<String, LayerStack.Layer> known) {
        return open(storage, base, options0, maxLayers, commits, known, null);
    }

    /** A file set's objects as one listing shows them: the base, the stats file and the sidecars by number (each may be absent). */
    record Listing(ObjectInfo base, ObjectInfo stats, TreeMap<Long, ObjectInfo> sidecars) {
        static Listing of(List<ObjectInfo> objects, String base, String stem, String statsKey) {
            ObjectInfo baseInfo = null;
            ObjectInfo statsInfo = null;
            TreeMap<Long, ObjectInfo> sidecars = new TreeMap<>();
            for (ObjectInfo o : objects) {
                if (o.key().equals(base)) {
                    baseInfo = o;
                } else if (o.key().equals(statsKey)) {
                    statsInfo = o;
                } else {
                    long n = LayerNames.sidecarNumber(stem, o.key());
                    if (n > 0) {
                        sidecars.put(n, o);
                    }
                }
            }
            return new Listing(baseInfo, statsInfo, sidecars);
        }
    }

    /** As above; {@code knownStats} (or null) is reused when the listing shows the same stats object. */
    static Mono<Loaded> open(Storage storage, String base, ArrayFileOptions options0, int maxLayers, CommittedLayers commits,
            Map<String, LayerStack.Layer> known, KnownStats knownStats) {
        return Mono.defer(() -> {
            String stem = stemOf(base);
            String statsKey = LayerNames.stats(stem);
            return storage.list(stem + ".").collectList().flatMap(objects -> {
                Listing listing = Listing.of(objects, base, stem, statsKey);
                ObjectInfo baseInfo = listing.base();
                ObjectInfo statsInfo = listing.stats();
                TreeMap<Long, ObjectInfo> sidecars = listing.sidecars();
                if (baseInfo == null) {
                    return Mono.error(new NotFoundException("file set '" + base + "' has no base object"));
                }
                long highest = sidecars.isEmpty() ? 0 : sidecars.lastKey();
                List<ObjectInfo> infos = new ArrayList<>();
                List<Long> numbers = new ArrayList<>();
                List<ObjectInfo> uncommitted = new ArrayList<>();
                infos.add(baseInfo);
                numbers.add(0L);
                sidecars.forEach((n, o) -> {
                    if (commits.includes(n)) {
                        infos.add(o);
                        numbers.add(n);
                    } else {
                        uncommitted.add(0, o);
                    }
                });
                // Committed footers are read concurrently; a sidecar the base has absorbed may be
                // damaged garbage, so its errors only matter if it turns out to be live.
                Mono<List<LayerRead>> read = Flux.range(0, infos.size())
                        .flatMap(i -> {
                            LayerStack.Layer k = known.get(infos.get(i).key());
                            Mono<LayerStack.Layer> layer = k != null && sameObject(k.object(), infos.get(i)) && k.number() == numbers.get(i)
                                    ? Mono.just(k) : readLayer(storage, infos.get(i), numbers.get(i), options0);
                            return layer.map(l -> new LayerRead(i, l, null))
                                    .onErrorResume(AtlasException.class, e -> Mono.just(new LayerRead(i, null, e)));
                        }, options0.readConcurrency())
                        .collectSortedList(Comparator.comparingInt(LayerRead::index));
                Mono<Optional<Trailer.StampedStats>> statsMono = statsInfo == null ? Mono.just(Optional.empty())
                        : knownStats != null && knownStats.stats() != null && sameObject(knownStats.object(), statsInfo)
                        ? Mono.just(Optional.of(knownStats.stats()))
                        : readStats(storage, statsInfo).map(Optional::of).defaultIfEmpty(Optional.empty());
                ObjectInfo statsObject = statsInfo;
                return Mono.zip(read, statsMono).flatMap(t -> {
                    List<LayerRead> results = t.getT1();
                    if (results.get(0).error() != null) {
                        return Mono.error(results.get(0).error());
                    }
                    LayerStack.Layer baseLayer = results.get(0).layer();
                    long absorbedUpTo = baseLayer.footer().overlayIndex();
                    if (absorbedUpTo > commits.through()) {
                        return Mono.error(new ObjectChangedException(base, "the base " + base + " absorbed sidecar "
                                + absorbedUpTo + " but the commit record known only names layers through " + commits.through()));
                    }
                    List<LayerStack.Layer> live = new ArrayList<>();
                    List<ObjectInfo> absorbed = new ArrayList<>();
                    live.add(baseLayer);
                    long last = absorbedUpTo;
                    for (int i = 1; i < results.size(); i++) {
                        long n = numbers.get(i);
                        last = Math.max(last, n);
                        if (n <= absorbedUpTo) {
                            absorbed.add(infos.get(i));
                            continue;
                        }
                        if (live.size() >= maxLayers) {
                            continue;
                        }
                        if (results.get(i).error() != null) {
                            return Mono.error(results.get(i).error());
                        }
                        live.add(results.get(i).layer());
                    }
                    Trailer.StampedStats stats = t.getT2().orElse(null);
                    LayerStack c = LayerStack.of(live, stats == null ? null : stats.stats(), stats == null ? null : stats.stamp(),
                            absorbed, last);
                    // A file set written by crate 0.10 (every layer footer v4) stays readable by it.
                    boolean allV4 = live.stream().allMatch(l -> l.footer().version() == Footer.VERSION_V4);
                    ArrayFileOptions options = allV4 && options0.footerVersion() != Footer.VERSION_V4
                            ? options0.withFooterVersion(Footer.VERSION_V4) : options0;
                    return Mono.just(new Loaded(c, options, uncommitted, statsObject, Math.max(highest, absorbedUpTo), stats));
                });
            });
        });
    }

    /**
     * Reads one layer's footer with one speculative tail read (a second read when the footer, or
     * the checksum record before it, lies beyond the tail), and checks it against the layer's
     * checksum record when the options verify; a damaged one fails with {@link CorruptFileException}.
     */
    static Mono<LayerStack.Layer> readLayer(Storage storage, ObjectInfo info, long number, ArrayFileOptions options) {
        long size = info.size();
        if (size < Trailer.SIZE) {
            return Mono.error(new CorruptFileException(info.key(), "file of " + size + " bytes is too short for the trailer"));
        }
        long tailLen = Math.min(size, options.tailRead());
        return storage.read(info.key(), size - tailLen, tailLen, info.version()).flatMap(tail -> {
            long payloadLen;
            try {
                payloadLen = Trailer.payloadLength(tail.nioBuffer(), size, Trailer.LAYER_MAGIC, info.key());
            } catch (RuntimeException e) {
                tail.release();
                return Mono.error(e);
            }
            if (payloadLen > Integer.MAX_VALUE - 8) {
                tail.release();
                return Mono.error(new CorruptFileException(info.key(), "footer of " + payloadLen + " bytes is too large"));
            }
            long dataRegion = size - Trailer.SIZE - payloadLen;
            if (payloadLen + Trailer.SIZE <= tailLen) {
                try {
                    LayerStack.Layer l = parse(info, tail.nioBuffer(), tailLen, payloadLen, dataRegion, options)
                            .layer(info, number);
                    if (l != null) {
                        return Mono.just(l);
                    }
                } finally {
                    tail.release();
                }
            } else {
                tail.release();
            }
            // The footer, or the record before it, lies beyond the speculative tail: read the
            // payload, then the record bytes the footer asks for.
            return storage.read(info.key(), dataRegion, payloadLen, info.version()).flatMap(pb -> {
                Footer f;
                long crc;
                byte[] payload = new byte[(int) payloadLen];
                try {
                    pb.getBytes(pb.readerIndex(), payload);
                } finally {
                    pb.release();
                }
                f = FooterCodec.decodeFooter(ByteBuffer.wrap(payload), info.key());
                crc = LayerStack.crc(ByteBuffer.wrap(payload));
                if (!options.verifyChecksums()) {
                    return Mono.just(LayerStack.Layer.of(info, f, dataRegion, number, crc, null));
                }
                long need = Checksums.bytesNeeded(f, dataRegion);
                if (need > Integer.MAX_VALUE - 8) {
                    return Mono.error(new CorruptFileException(info.key(), "checksum record of " + need + " bytes is too large"));
                }
                Mono<ByteBuffer> before = need == 0 ? Mono.just(ByteBuffer.allocate(0))
                        : storage.read(info.key(), dataRegion - need, need, info.version()).map(rb -> {
                            try {
                                byte[] r = new byte[rb.readableBytes()];
                                rb.getBytes(rb.readerIndex(), r);
                                return ByteBuffer.wrap(r);
                            } finally {
                                rb.release();
                            }
                        });
                return before.map(bb -> LayerStack.Layer.of(info, f, dataRegion, number, crc,
                        Checksums.check(info.key(), f, ByteBuffer.wrap(payload), bb, dataRegion)));
            });
        });
    }

    /** A footer decoded from a tail read, and its checksums if the bytes before it were in the tail too. */
    private record Parsed(Footer footer, long crc, long dataRegion, boolean complete, Checksums.Layer checksums) {

        /** The layer, or null when the record bytes were not in the tail. */
        LayerStack.Layer layer(ObjectInfo info, long number) {
            return complete ? LayerStack.Layer.of(info, footer, dataRegion, number, crc, checksums) : null;
        }
    }

    /** Decodes the footer at the end of {@code tail} (the last {@code tailLen} bytes of the file) and checks it. */
    private static Parsed parse(ObjectInfo info, ByteBuffer tail, long tailLen, long payloadLen, long dataRegion,
            ArrayFileOptions options) {
        int start = (int) (tail.position() + tailLen - Trailer.SIZE - payloadLen);
        ByteBuffer payload = tail.slice(start, (int) payloadLen);
        long crc = LayerStack.crc(payload);
        Footer f = FooterCodec.decodeFooter(payload, info.key());
        if (!options.verifyChecksums()) {
            return new Parsed(f, crc, dataRegion, true, null);
        }
        long need = Checksums.bytesNeeded(f, dataRegion);
        int avail = start - tail.position();
        if (need > avail) {
            return new Parsed(f, crc, dataRegion, false, null);
        }
        ByteBuffer before = tail.slice(tail.position(), avail);
        return new Parsed(f, crc, dataRegion, true, Checksums.check(info.key(), f, payload, before, dataRegion));
    }

    private static Mono<Trailer.StampedStats> readStats(Storage storage, ObjectInfo info) {
        if (info.size() > Integer.MAX_VALUE - 8) {
            return Mono.error(new CorruptFileException(info.key(), "stats file of " + info.size() + " bytes is too large"));
        }
        return storage.read(info.key(), 0, info.size(), info.version()).map(b -> {
            try {
                return Trailer.decodeStampedStatsFile(b.nioBuffer(), info.key());
            } finally {
                b.release();
            }
        }).onErrorResume(CorruptFileException.class, e -> {
            // Statistics are derivable from the layers: a damaged stats file must not make the data unreadable.
            LOG.warn("ignoring unreadable statistics: {}", e.getMessage());
            return Mono.empty();
        }).onErrorResume(e -> e instanceof ObjectChangedException || e instanceof NotFoundException,
                // Another writer replaced or removed them since the listing: none known (they are derivable).
                e -> Mono.empty());
    }
}
