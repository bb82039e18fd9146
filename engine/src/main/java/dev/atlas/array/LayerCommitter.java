package dev.atlas.array;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ConflictException;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.FooterCodec;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.internal.format.MergedView;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.FileAdoption;
import dev.atlas.storage.ObjectInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
    private final OpenFileSet state;
    private final StatsMaintainer stats;

    LayerCommitter(OpenFileSet state, StatsMaintainer stats) {
        this.state = state;
        this.stats = stats;
    }

    /** A finished layer's footer and what a commit derives from it, computed before the put so nothing can fail after it. */
    record SealedLayer(Footer footer, byte[] tail, long footerCrc, Map<Long, BlockMeta> blocks) {

        /** The committed layer once the object is written as {@code info}. */
        LayerStack.Layer layer(ObjectInfo info, long number) {
            return new LayerStack.Layer(info, footer, blocks, number, footerCrc);
        }
    }

    /** The footer of {@code p} (every block spilled) for object {@code key}, checked, with its tail (footer and trailer). */
    SealedLayer seal(PendingLayer p, long overlayIndex, String baseHint, String key) {
        Footer footer = p.footer(state.options.footerVersion(), overlayIndex, baseHint);
        byte[] payload = FooterCodec.encodeFooter(footer);
        byte[] trailer = Trailer.trailer(payload.length, Trailer.LAYER_MAGIC);
        byte[] tail = Arrays.copyOf(payload, payload.length + trailer.length);
        System.arraycopy(trailer, 0, tail, payload.length, trailer.length);
        long dataRegion = 0;
        for (BlockMeta b : footer.blocks()) {
            dataRegion = Math.addExact(dataRegion, b.compressedSize());
        }
        Map<Long, BlockMeta> blocks = LayerStack.blockIndex(footer, key, dataRegion);
        return new SealedLayer(footer, tail, LayerStack.crc(ByteBuffer.wrap(payload)), blocks);
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

    /** Commits the pending layer as the next sidecar, then rewrites the statistics (a mutation). */
    Mono<Void> flush() {
        return Mono.defer(() -> {
            Snapshot s = state.snapshot;
            PendingLayer p = s.pending();
            if (p == null || p.isEmpty()) {
                if (s.committed().statsStatus() == ArrayFile.StatsStatus.STALE) {
                    return stats.refresh();
                }
                return state.statsFileStale ? stats.write(s.committed()) : Mono.empty();
            }
            long n = s.committed().lastNumber() + 1;
            String key = LayerNames.sidecar(state.stem, n);
            ObjectInfo knownBase = s.committed().layers().get(0).object();
            // Background spills first (a failed one is retried below with the rest).
            return deleteUncommitted().then(p.awaitSpills(0))
                    .onErrorResume(e -> !(e instanceof PendingLayer.ReleasedException), e -> Mono.empty())
                    .then(Mono.defer(() -> p.spill(p.sealAll()))).then(Mono.defer(() -> {
                        SealedLayer sealed = seal(p, n, state.base, key);
                        List<Footer> footers = new ArrayList<>();
                        s.committed().layers().forEach(l -> footers.add(l.footer()));
                        footers.add(sealed.footer());
                        MergedView view = MergedView.of(footers, state.base);
                        return stats.after(s, p)
                                .flatMap(table -> checkBaseUnchanged(knownBase).then(write(p, key, sealed.tail(), true)
                                        .onErrorMap(AlreadyExistsException.class, e -> new ConflictException("sidecar " + key
                                                + " was created by another writer; reopen the file set and retry", e)))
                                .flatMap(info -> {
                                    List<LayerStack.Layer> layers = new ArrayList<>(s.committed().layers());
                                    layers.add(sealed.layer(info, n));
                                    LayerStack c = new LayerStack(List.copyOf(layers), view, Map.of(),
                                            ArrayFile.StatsStatus.CURRENT, s.committed().absorbed(), n).withStats(table);
                                    state.snapshot = new Snapshot(c, null);
                                    p.release();
                                    return stats.write(c);
                                }));
                    }));
        });
    }

    /**
     * Fails with {@link ConflictException} when the base object is no longer the one this handle
     * opened: another writer compacted, and a sidecar numbered from our view could be one its base
     * already absorbed (and would be ignored).
     */
    Mono<Void> checkBaseUnchanged(ObjectInfo known) {
        return state.storage.head(known.key()).flatMap(now -> now.equals(known) ? Mono.<Void>empty()
                : Mono.error(new ConflictException("base " + known.key() + " was rewritten by another writer; reopen the"
                        + " file set and retry", null)));
    }

    /** Deletes the uncommitted sidecars newest first, forgetting each once it is gone. */
    Mono<Void> deleteUncommitted() {
        return Flux.defer(() -> Flux.fromIterable(state.uncommitted))
                .concatMap(o -> state.storage.delete(o.key()).then(Mono.fromRunnable(() -> {
                    state.options.caches().invalidate(state.storage, o.key());
                    List<ObjectInfo> rest = new ArrayList<>(state.uncommitted);
                    rest.remove(o);
                    state.uncommitted = List.copyOf(rest);
                })), 0)
                .then();
    }

    /** Deletes absorbed sidecars oldest first, forgetting each once it is gone. */
    Mono<Void> deleteAbsorbed() {
        return Flux.defer(() -> Flux.fromIterable(state.snapshot.committed().absorbed()))
                .concatMap(o -> state.storage.delete(o.key()).then(Mono.fromRunnable(() -> {
                    state.options.caches().invalidate(state.storage, o.key());
                    Snapshot s = state.snapshot;
                    List<ObjectInfo> rest = new ArrayList<>(s.committed().absorbed());
                    rest.remove(o);
                    state.snapshot = new Snapshot(s.committed().withAbsorbed(rest), s.pending());
                })), 0)
                .then();
    }
}
