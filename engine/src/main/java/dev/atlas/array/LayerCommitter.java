package dev.atlas.array;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ConflictException;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.Checksums;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.internal.format.MergedView;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.FileAdoption;
import dev.atlas.format.ArrayStats;
import dev.atlas.storage.ObjectInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Turns pending layers into committed layer objects: decides where a pending layer spills (where
 * its file can be adopted), builds the footer tail, writes the object (the spill file adopted
 * when the storage can, else a copy of the blocks), and deletes the objects a commit leaves
 * behind. {@link #flush} commits the pending layer as a sidecar; {@link Compactor} commits a base
 * through the same {@link #seal} and {@link #write}.
 */
final class LayerCommitter {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LayerCommitter.class);
    private final OpenFileSet state;
    private final StatsMaintainer stats;

    LayerCommitter(OpenFileSet state, StatsMaintainer stats) {
        this.state = state;
        this.stats = stats;
    }

    /** A finished layer's footer and what a commit derives from it, computed before the put so nothing can fail after it. */
    record SealedLayer(Footer footer, byte[] tail, long footerCrc, Map<Long, BlockMeta> blocks, Checksums.Layer checksums) {

        /** The committed layer once the object is written as {@code info}. */
        LayerStack.Layer layer(ObjectInfo info, long number) {
            return new LayerStack.Layer(info, footer, blocks, number, footerCrc, checksums);
        }
    }

    /**
     * The footer of {@code p} (every block spilled) for object {@code key}, checked, with its tail:
     * the checksum record (unless the options turn it off), the footer and the trailer.
     */
    SealedLayer seal(PendingLayer p, long overlayIndex, String baseHint, String key) {
        Footer plain = p.footer(state.options.footerVersion(), overlayIndex, baseHint);
        long dataRegion = 0;
        for (BlockMeta b : plain.blocks()) {
            dataRegion = Math.addExact(dataRegion, b.compressedSize());
        }
        Checksums.Tail t = Checksums.tail(plain, p.blockCrcs(), dataRegion, state.options.writeChecksums());
        Footer footer = t.footer();
        long withRecord = dataRegion + t.tail().length - t.payload().length - Trailer.SIZE;
        Map<Long, BlockMeta> blocks = LayerStack.blockIndex(footer, key, withRecord);
        return new SealedLayer(footer, t.tail(), LayerStack.crc(ByteBuffer.wrap(t.payload())), blocks,
                state.options.verifyChecksums() ? t.checksums() : null);
    }

    /** The storage's file adoption when these options use it, else null. */
    private FileAdoption adoption() {
        return state.options.adoptSpillFiles() ? state.storage.fileAdoption() : null;
    }

    /**
     * A pending layer spilling where its file can be adopted as the layer object (the storage's
     * staging directory, when it can adopt files), else into the options' temp directory.
     */
    PendingLayer newPendingLayer(int spillConcurrency) {
        ArrayFileOptions o = state.options;
        FileAdoption a = adoption();
        if (a == null) {
            Path dir = o.tempDirectory();
            return new PendingLayer(o.codec(), o.blockTargetSize(), o.resources(), () -> dir, "atlas-pending-", false,
                    spillConcurrency, 0, o.soloChunkSize());
        }
        String key = state.base;
        return new PendingLayer(o.codec(), o.blockTargetSize(), o.resources(), () -> a.stagingDirectory(key),
                a.stagedFilePrefix(), true, spillConcurrency, o.syncBehindBytes(), o.soloChunkSize());
    }

    /**
     * Writes a finished layer as {@code key}: the spill file itself when the storage adopts files
     * and the file is exactly the data region, else a copy of the blocks followed by {@code tail}.
     */
    Mono<ObjectInfo> write(PendingLayer p, String key, byte[] tail, boolean ifAbsent) {
        return Mono.defer(() -> {
            FileAdoption a = adoption();
            if (a != null && p.spillFileIsDataRegion()) {
                return p.adoptSpillFile(a, key, tail, ifAbsent);
            }
            Flux<ByteBuf> body = Flux.concat(p.dataRegion(), Mono.fromSupplier(() -> Unpooled.wrappedBuffer(tail)));
            return ifAbsent ? state.storage.putIfAbsent(key, body) : state.storage.put(key, body);
        });
    }

    /** How many sidecar numbers a flush tries before it gives up (each taken by another writer meanwhile). */
    static final int MAX_CLAIMS = 1000;

    /**
     * Commits the pending layer as a new sidecar, then rewrites the statistics (a mutation). First
     * brings the committed stack up to date (one listing: other writers' layers, a compacted
     * base), so the new layer's statistics describe the stack it joins; then claims the next free
     * sidecar number with create-if-absent, moving up past numbers other writers took meanwhile;
     * then checks that no compaction absorbed the number it got (if one did, the layer is moved to
     * a free number above the new base).
     */
    Mono<Void> flush() {
        return Mono.defer(() -> {
            Snapshot s0 = state.snapshot;
            PendingLayer p = s0.pending();
            if (p == null || p.isEmpty()) {
                if (s0.committed().statsStatus() == ArrayFile.StatsStatus.STALE) {
                    return stats.refresh();
                }
                return state.statsFileStale ? stats.write(s0.committed()) : Mono.empty();
            }
            // Background spills first (a failed one is retried below with the rest).
            return p.awaitSpills(0)
                    .onErrorResume(e -> !(e instanceof PendingLayer.ReleasedException), e -> Mono.empty())
                    .then(Mono.defer(() -> p.spill(p.sealAll())))
                    .then(state.refresh(false))
                    .then(Mono.defer(() -> {
                        Snapshot s = state.snapshot;
                        return stats.after(s, p).flatMap(table -> claim(p, s, table, nextNumber(s), 0));
                    }));
        });
    }

    private long nextNumber(Snapshot s) {
        return Math.max(s.committed().lastNumber(), state.highestNumber) + 1;
    }

    /** Writes the layer as sidecar {@code n}, or the next free number above it. */
    private Mono<Void> claim(PendingLayer p, Snapshot s, Map<String, ArrayStats> table, long n, int attempt) {
        String key = LayerNames.sidecar(state.stem, n);
        SealedLayer sealed = seal(p, n, state.base, key);
        return write(p, key, sealed.tail(), true)
                .flatMap(info -> {
                    state.highestNumber = Math.max(state.highestNumber, n);
                    return absorbedCheck(s, info, n);
                })
                .flatMap(placed -> {
                    long number = LayerNames.sidecarNumber(state.stem, placed.key());
                    state.lastFlushed = number;
                    // Publish first, then release the pending layer: a read that planned on the old
                    // snapshot and finds the layer released must also find the snapshot changed,
                    // which makes it re-plan (OpenFileSet.isStale); released first, a read in between
                    // failed with ReleasedException (ArrayFileWriteTest's concurrent reads, in CI).
                    Snapshot now = state.publish(cur -> {
                        List<LayerStack.Layer> layers = new ArrayList<>(cur.committed().layers());
                        layers.add(sealed.layer(placed, number));
                        List<Footer> footers = new ArrayList<>();
                        layers.forEach(l -> footers.add(l.footer()));
                        MergedView view = MergedView.of(footers, state.base);
                        LayerStack c = new LayerStack(List.copyOf(layers), view, Map.of(), ArrayFile.StatsStatus.CURRENT,
                                cur.committed().absorbed(), Math.max(number, cur.committed().lastNumber()));
                        // The table describes the stack the flush refreshed to; if a refresh replaced
                        // it meanwhile, statistics are left to be recomputed.
                        c = cur.committed() == s.committed() ? c.withStats(table) : c;
                        return new Snapshot(c, null);
                    });
                    p.release();
                    return now.committed().statsStatus() == ArrayFile.StatsStatus.CURRENT
                            ? stats.write(now.committed()) : Mono.<Void>empty();
                })
                .onErrorResume(AlreadyExistsException.class, e -> {
                    if (attempt + 1 >= MAX_CLAIMS) {
                        return Mono.error(new ConflictException("no free sidecar number for " + state.base + " after "
                                + MAX_CLAIMS + " attempts: other writers keep taking them", e));
                    }
                    state.highestNumber = Math.max(state.highestNumber, n);
                    return claim(p, s, table, n + 1, attempt + 1);
                });
    }

    /**
     * The object the new layer ended up as: {@code written}, unless a compaction replaced the base
     * meanwhile with one that absorbed number {@code n} (it listed sidecars before ours existed but
     * another writer's layer above ours): then the layer is moved to a free number above that base.
     */
    private Mono<ObjectInfo> absorbedCheck(Snapshot s, ObjectInfo written, long n) {
        ObjectInfo knownBase = s.committed().layers().get(0).object();
        return state.storage.head(knownBase.key()).flatMap(now -> {
            if (LayerStackLoader.sameObject(now, knownBase)) {
                return Mono.just(written);
            }
            return state.refresh(true).then(Mono.defer(() -> {
                long overlay = state.snapshot.committed().layers().get(0).footer().overlayIndex();
                if (overlay < n) {
                    return Mono.just(written);
                }
                LOG.info("{}: a compaction absorbed sidecar number {} while this flush wrote it; moving the layer above {}",
                        state.base, n, overlay);
                return moveAbove(written, Math.max(overlay, state.highestNumber) + 1, 0);
            }));
        });
    }

    /** Copies the layer object {@code from} to the first free sidecar number from {@code n} on, then deletes it. */
    private Mono<ObjectInfo> moveAbove(ObjectInfo from, long n, int attempt) {
        String key = LayerNames.sidecar(state.stem, n);
        long piece = 8L << 20;
        Flux<ByteBuf> body = Flux.defer(() -> Flux.range(0, (int) ((from.size() + piece - 1) / piece))
                .concatMap(i -> state.storage.read(from.key(), i * piece, Math.min(piece, from.size() - i * piece), from.version()), 0));
        return state.storage.putIfAbsent(key, body)
                .flatMap(info -> state.storage.delete(from.key()).thenReturn(info))
                .doOnNext(info -> state.highestNumber = Math.max(state.highestNumber, n))
                .onErrorResume(AlreadyExistsException.class, e -> attempt + 1 >= MAX_CLAIMS ? Mono.error(new ConflictException(
                        "no free sidecar number for " + state.base, e)) : moveAbove(from, n + 1, attempt + 1));
    }

    /**
     * Replaces the base {@code known} with the finished layer {@code p} only if the base is still
     * that object (compare-and-swap): another writer's compaction wins, and this one reports
     * {@link ConflictException}.
     */
    Mono<ObjectInfo> replaceBase(PendingLayer p, ObjectInfo known, byte[] tail) {
        // The replaced base stays readable for reads planned on it (see Retained).
        return Retained.keep(state.storage, known).then(Mono.defer(() -> {
            FileAdoption a = adoption();
            Mono<ObjectInfo> put;
            if (a != null && p.spillFileIsDataRegion()) {
                put = p.adoptSpillFileIfMatch(a, known.key(), tail, known.version());
            } else {
                Flux<ByteBuf> body = Flux.concat(p.dataRegion(), Mono.fromSupplier(() -> Unpooled.wrappedBuffer(tail)));
                put = state.storage.putIfMatch(known.key(), known.version(), body);
            }
            return put.onErrorMap(dev.atlas.error.ObjectChangedException.class, e -> new ConflictException("base "
                    + known.key() + " was rewritten by another writer while this one compacted it", e));
        }));
    }

    /**
     * Deletes the sidecars no commit counts (failed flushes) whose objects are older than
     * {@code age}: younger ones may be another writer's commit in progress; and the copies of
     * replaced objects retained longer than {@code age} ago (see {@link Retained}).
     *
     * @return the objects deleted
     */
    Mono<List<ObjectInfo>> deleteGarbage(java.time.Duration age) {
        return state.refresh(true).then(Mono.defer(() -> {
            java.time.Instant cutoff = java.time.Instant.now().minus(age);
            List<ObjectInfo> old = new ArrayList<>();
            for (ObjectInfo o : state.uncommitted) {
                if (o.modified() != null && o.modified().isBefore(cutoff)) {
                    old.add(o);
                }
            }
            return Flux.fromIterable(old).concatMap(o -> state.storage.delete(o.key()).thenReturn(o)
                    .doOnNext(x -> state.options.caches().invalidate(state.storage, x.key())), 0)
                    .concatWith(Retained.deleteOld(state.storage, state.stem, age))
                    .collectList();
        }));
    }

    /** Deletes absorbed sidecars oldest first (each retained first, see {@link Retained}), forgetting each once it is gone. */
    Mono<Void> deleteAbsorbed() {
        return Flux.defer(() -> Flux.fromIterable(state.snapshot.committed().absorbed()))
                .concatMap(o -> Retained.keep(state.storage, o).then(state.storage.delete(o.key())).then(Mono.fromRunnable(() -> {
                    state.options.caches().invalidate(state.storage, o.key());
                    state.publish(s -> {
                        List<ObjectInfo> rest = new ArrayList<>(s.committed().absorbed());
                        rest.remove(o);
                        return new Snapshot(s.committed().withAbsorbed(rest), s.pending());
                    });
                })), 0)
                .then();
    }
}
