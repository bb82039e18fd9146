package dev.atlas.array;

import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.format.AttributeValue;
import dev.atlas.internal.format.MergedView;
import dev.atlas.internal.nd.ChunkGrid;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What readers see: the committed stack plus the pending layer (null when none), and how a name
 * resolves over both (the pending layer first, then the committed layers' merged view).
 */
record Snapshot(LayerStack committed, PendingLayer pending) {

    /** One visible array as a reader sees it: committed, or overridden by the pending layer. */
    record Resolved(ArrayMeta schema, ChunkGrid grid, PendingManifest.Entry pending, MergedView.VisibleArray committed,
            List<Map.Entry<String, AttributeValue>> attributes) {
        String name() {
            return schema.name();
        }
    }

    /** The same committed state without the pending layer. */
    Snapshot committedOnly() {
        return new Snapshot(committed, null);
    }

    /** The array {@code name} resolves to, or null when it is not visible. */
    Resolved resolve(String name) {
        return resolve(name, pending == null ? null : pending.resolve(name));
    }

    private Resolved resolve(String name, PendingManifest.PendingArray p) {
        MergedView.VisibleArray c = committed.view().array(name);
        if (p != null) {
            if (p.schema() == null) {
                return null;
            }
            ChunkGrid grid = ChunkGrid.of(p.schema().shape(), p.schema().chunkShape());
            return new Resolved(p.schema(), grid, p.entry(), p.fresh() ? null : c, p.attributes());
        }
        if (c == null) {
            return null;
        }
        return new Resolved(c.meta(), c.grid(), null, c, c.attributes());
    }

    /** Visible array names in list order (first definition first; a re-definition after a delete moves to the end). */
    List<String> listArrays() {
        return listArrays(pending == null ? List.of() : pending.arrays());
    }

    private List<String> listArrays(List<PendingManifest.PendingArray> pendingArrays) {
        LinkedHashMap<String, Boolean> order = new LinkedHashMap<>();
        for (String n : committed.view().arrays().keySet()) {
            order.put(n, Boolean.TRUE);
        }
        for (PendingManifest.PendingArray e : pendingArrays) {
            if (e.buries() || e.schema() == null) {
                order.remove(e.name());
            }
            if (e.schema() != null) {
                order.putIfAbsent(e.name(), Boolean.TRUE);
            }
        }
        return List.copyOf(order.keySet());
    }

    /** For each visible array in list order, its value of attribute {@code key} (null when absent), from one view of the pending layer. */
    Map<String, AttributeValue> attributeIndex(String key) {
        List<PendingManifest.PendingArray> pendingArrays = pending == null ? List.of() : pending.arrays();
        Map<String, PendingManifest.PendingArray> byName = new HashMap<>();
        pendingArrays.forEach(p -> byName.put(p.name(), p));
        Map<String, AttributeValue> out = new LinkedHashMap<>();
        for (String name : listArrays(pendingArrays)) {
            Resolved r = resolve(name, byName.get(name));
            AttributeValue v = null;
            if (r != null) {
                for (Map.Entry<String, AttributeValue> e : r.attributes()) {
                    if (e.getKey().equals(key)) {
                        v = e.getValue();
                    }
                }
            }
            out.put(name, v);
        }
        return out;
    }
}
