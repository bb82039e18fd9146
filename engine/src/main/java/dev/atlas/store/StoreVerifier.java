package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.CommittedLayers;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.integrity.Finding;
import dev.atlas.integrity.VerifyProgress;
import dev.atlas.integrity.VerifyReport;
import dev.atlas.internal.VerifyTally;
import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.internal.format.Footer;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Consumer;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The verification walk over a store: the registry decoded (its content digest checked when it
 * has one), every array file set in storage verified ({@link ArrayFile#verifyInto}), and the
 * registry cross-checked against the file sets: each dataset's declared array has an entry of
 * that dataset with the declared dtype, shape and chunk shape, and no file set holds entries of a
 * registered dataset that the registry does not declare. The cross-check is what catches a
 * registry damaged in a way that still parses and carries no digest (one written by atlas-rust or
 * by an older engine): a dataset or array it lost still has its entries in the array files.
 */
final class StoreVerifier {
    private StoreVerifier() {
    }

    /** One declaration of an array by a dataset, in registry order. */
    private record Declared(String dataset, ArraySchema schema) {
    }

    static Mono<VerifyReport> verify(Storage storage, String prefix, AtlasOptions options, Consumer<VerifyProgress> progress) {
        return Mono.defer(() -> {
            StoreLayout layout = StoreLayout.of(prefix);
            VerifyTally tally = new VerifyTally(progress);
            return RegistryObject.find(storage, layout).flatMap(found -> {
                if (found.isEmpty()) {
                    return Mono.error(new StoreNotFoundException("no Atlas registry (atlas.json, atlas.msgpack, ...) at '"
                            + layout.prefix() + "'"));
                }
                String key = found.get().key();
                Mono<Optional<Registry>> registry = RegistryObject.read(storage, key)
                        .map(v -> Optional.of(v.registry()))
                        .onErrorResume(CorruptFileException.class, e -> {
                            String m = e.getMessage();
                            tally.damage(Finding.Kind.REGISTRY, key, "registry does not decode: "
                                    + (m.startsWith(key + ": ") ? m.substring(key.length() + 2) : m));
                            return Mono.just(Optional.empty());
                        });
                return registry.flatMap(r -> storage.list(layout.root()).collectList()
                        .flatMap(objects -> walk(storage, layout, options, r.orElse(null), objects, tally)))
                        .then(Mono.fromSupplier(() -> tally.report(layout.prefix().isEmpty() ? key : layout.prefix())));
            });
        });
    }

    private static Mono<Void> walk(Storage storage, StoreLayout layout, AtlasOptions options, Registry r,
            List<ObjectInfo> objects, VerifyTally tally) {
        TreeSet<String> names = new TreeSet<>();
        for (ObjectInfo o : objects) {
            String rel = layout.relative(o.key());
            int slash = rel.indexOf('/');
            if (slash > 0 && rel.substring(slash + 1).equals("data.af")) {
                names.add(rel.substring(0, slash));
            }
        }
        Map<String, List<Declared>> declared = new LinkedHashMap<>();
        if (r != null) {
            r.datasets.forEach((ds, entry) -> entry.arrays.forEach((a, schema) ->
                    declared.computeIfAbsent(a, x -> new ArrayList<>()).add(new Declared(ds, schema))));
            names.addAll(declared.keySet());
        }
        tally.fileSetsTotal(names.size());
        StoreCodec codec = r == null ? StoreCodec.ZSTD : r.codec;
        int version = r == null || r.footerVersion == null ? Footer.VERSION_V5 : r.footerVersion;
        ArrayFileOptions fileOptions = options.fileOptions(codec, version);
        return Flux.fromIterable(names).concatMap(array -> {
            String base = layout.arrayBase(array);
            List<Declared> decl = declared.getOrDefault(array, List.of());
            // A file set the registry commits is checked as committed; any other one as a whole.
            CommittedLayers commits = r != null && r.references(array) ? r.committedLayers(array) : CommittedLayers.ALL;
            return ArrayFile.verifyInto(storage, base, fileOptions, commits, tally)
                    .doOnNext(metas -> {
                        if (r != null && metas.isPresent()) {
                            crossCheck(r, array, base, decl, metas.get(), tally);
                        }
                    })
                    .onErrorResume(NotFoundException.class, e -> {
                        tally.damage(Finding.Kind.CROSS_CHECK, base, "the registry declares array '" + array
                                + "' (datasets " + decl.stream().map(Declared::dataset).toList() + ") but its file set is missing");
                        tally.fileSetDone(base);
                        return Mono.empty();
                    })
                    .then();
        }, 0).then();
    }

    /** The registry's declarations of {@code array} against the entries its file set holds. */
    private static void crossCheck(Registry r, String array, String base, List<Declared> decl, Map<String, ArrayMeta> entries,
            VerifyTally tally) {
        for (Declared d : decl) {
            ArrayMeta m = entries.get(d.dataset());
            if (m == null) {
                tally.damage(Finding.Kind.CROSS_CHECK, base, "dataset '" + d.dataset() + "' declares array '" + array
                        + "' but its file set has no entry '" + d.dataset() + "'");
                continue;
            }
            ArraySchema s = d.schema();
            if (!s.dtype().equals(m.dtype()) || !Arrays.equals(s.shape(), m.shape())
                    || !Arrays.equals(s.chunkShape(), m.chunkShape())) {
                tally.damage(Finding.Kind.CROSS_CHECK, base, "dataset '" + d.dataset() + "' declares array '" + array
                        + "' as " + s.dtype() + " " + Arrays.toString(s.shape()) + " in chunks " + Arrays.toString(s.chunkShape())
                        + ", its file set holds " + m.dtype() + " " + Arrays.toString(m.shape()) + " in chunks "
                        + Arrays.toString(m.chunkShape()));
            }
        }
        List<String> lost = new ArrayList<>();
        List<String> leftover = new ArrayList<>();
        for (String ds : entries.keySet()) {
            if (decl.stream().anyMatch(d -> d.dataset().equals(ds))) {
                continue;
            }
            (r.datasets.containsKey(ds) ? lost : leftover).add(ds);
        }
        if (!lost.isEmpty()) {
            tally.damage(Finding.Kind.CROSS_CHECK, base, "the file set of array '" + array + "' holds entries of registered"
                    + " datasets " + lost + " that the registry does not declare it for (the registry lost them, or the"
                    + " file set was written outside a commit)");
        }
        if (!leftover.isEmpty()) {
            tally.warning(Finding.Kind.GARBAGE, base, "the file set of array '" + array + "' holds entries of datasets "
                    + leftover + " that the registry does not list (left by a deletion: compaction drops them)");
        }
        if (decl.isEmpty() && entries.isEmpty()) {
            tally.warning(Finding.Kind.GARBAGE, base, "no dataset declares array '" + array
                    + "': an unreferenced file set (garbage a compaction removes)");
        }
    }
}
