package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.NotFoundException;
import dev.atlas.storage.Storage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The open-file cache of a store handle: each array file set is opened lazily on first use,
 * once, and shared; one the committed registry references is opened pinned to the layers it
 * commits. Lookups take no lock.
 */
final class ArrayFiles {
    private final Storage storage;
    private final StoreLayout layout;
    private final AtlasOptions options;
    private final RegistryState state;
    /** The opening (or opened) file set per array name; a failed opening is forgotten. */
    private final ConcurrentHashMap<String, Mono<ArrayFile>> files = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ArrayFile> opened = new ConcurrentHashMap<>();

    ArrayFiles(Storage storage, StoreLayout layout, AtlasOptions options, RegistryState state) {
        this.storage = storage;
        this.layout = layout;
        this.options = options;
        this.state = state;
    }

    /**
     * The array file set of {@code array}, opened once and shared. A file set the committed
     * registry references is opened pinned to the layers it commits. One it does not reference is
     * garbage or new: with {@code create}, its leftovers are deleted and an empty one is created;
     * without, the result is {@link ArrayNotFoundException} (read paths never create files).
     */
    Mono<ArrayFile> file(String array, boolean create) {
        Mono<ArrayFile> m = files.get(array);
        if (m != null) {
            return m;
        }
        Mono<ArrayFile> fresh = openFile(array, create)
                .doOnNext(f -> opened.put(array, f))
                .doOnError(e -> files.remove(array))
                .cache();
        Mono<ArrayFile> prev = files.putIfAbsent(array, fresh);
        return prev != null ? prev : fresh;
    }

    private Mono<ArrayFile> openFile(String array, boolean create) {
        return Mono.defer(() -> {
            Registry c = state.committed();
            String base = layout.arrayBase(array);
            ArrayFileOptions opts = options.fileOptions(c.codec, state.footerVersion());
            if (c.references(array)) {
                Long pin = c.layers == null ? null : c.layers.get(array);
                Mono<ArrayFile> open = pin == null ? ArrayFile.open(storage, base, opts) : ArrayFile.open(storage, base, opts, pin);
                return open.onErrorMap(NotFoundException.class, e -> new CorruptFileException(base,
                        "the registry references array '" + array + "' but its file set is missing", e));
            }
            if (!create) {
                return Mono.error(new ArrayNotFoundException("array '" + array + "' has no committed file set"));
            }
            String stemPrefix = base.substring(0, base.length() - "af".length());
            return storage.list(stemPrefix)
                    .filter(o -> o.key().substring(stemPrefix.length()).indexOf('/') < 0)
                    .concatMap(o -> storage.delete(o.key()))
                    .then(Mono.defer(() -> ArrayFile.create(storage, base, opts)));
        });
    }

    /** The opened file set of {@code array}, or null. */
    ArrayFile opened(String array) {
        return opened.get(array);
    }

    /** Names of the file sets opened so far. */
    Set<String> openedNames() {
        return Set.copyOf(opened.keySet());
    }

    boolean isOpen(String array) {
        return opened.containsKey(array);
    }

    /** The opened file sets with changes a flush has to write, by array name. */
    Map<String, ArrayFile> withPendingChanges() {
        Map<String, ArrayFile> dirty = new LinkedHashMap<>();
        opened.forEach((a, f) -> {
            if (f.hasPendingChanges()) {
                dirty.put(a, f);
            }
        });
        return dirty;
    }

    /** Closes every opened file set (pending changes are discarded) and forgets them all. */
    Mono<Void> closeAll() {
        return Flux.fromIterable(new ArrayList<>(opened.values()))
                .concatMap(ArrayFile::close)
                .then(Mono.fromRunnable(() -> {
                    opened.clear();
                    files.clear();
                }));
    }
}
