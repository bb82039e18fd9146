package dev.atlas.array;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The complete visible state of an open file set as comparable text: list order, and per array its
 * schema, every element and its attributes (sorted by key). Two file sets show the same data exactly
 * when their states are equal.
 */
final class FileSetState {
    private FileSetState() {
    }

    static Map<String, String> of(ArrayFile f) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : f.listArrays()) {
            ArrayMeta m = f.arrayMeta(name);
            StringBuilder sb = new StringBuilder();
            sb.append(m.dtype()).append(' ').append(java.util.Arrays.toString(m.shape())).append(" chunks ")
                    .append(java.util.Arrays.toString(m.chunkShape())).append(" fill ").append(m.fillValue()).append('\n');
            try (NdArray a = f.readArray(name).block(TIMEOUT)) {
                sb.append(values(a)).append('\n');
            }
            Map<String, AttributeValue> attrs = new TreeMap<>(f.attributes(name));
            sb.append(attrs);
            out.put(name, sb.toString());
        }
        return out;
    }

    static String values(NdArray a) {
        if (a.dtype().kind() == DType.Kind.STRING) {
            StringBuilder sb = new StringBuilder();
            for (long i = 0; i < a.size(); i++) {
                sb.append('"').append(a.getString(i)).append("\" ");
            }
            return sb.toString();
        }
        if (a.dtype().kind() == DType.Kind.BINARY) {
            StringBuilder sb = new StringBuilder();
            for (long i = 0; i < a.size(); i++) {
                sb.append(HexFormat.of().formatHex(a.getBinary(i))).append(' ');
            }
            return sb.toString();
        }
        byte[] bytes = new byte[a.data().readableBytes()];
        a.data().getBytes(a.data().readerIndex(), bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /**
     * Statistics are never silently stale: when the file reports them current, every visible
     * array's stored entry equals a recomputation from the data.
     *
     * @return a description of the first mismatch, or null
     */
    static String statsProblem(ArrayFile f) {
        if (f.statsStatus() != ArrayFile.StatsStatus.CURRENT) {
            return null;
        }
        List<String> names = f.listArrays();
        for (String name : names) {
            ArrayStats stored = f.arrayStats(name);
            ArrayStats computed = f.computeStats(name).block(TIMEOUT);
            if (stored == null || !stored.equals(computed)) {
                return name + ": stored " + stored + ", data says " + computed;
            }
        }
        return null;
    }
}
