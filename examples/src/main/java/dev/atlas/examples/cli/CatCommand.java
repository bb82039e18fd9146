package dev.atlas.examples.cli;

import dev.atlas.array.NdArray;
import dev.atlas.http.region.Region;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.DatasetView;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code atlas cat STORE DATASET ARRAY}: prints a region of one dataset's array as text (rows
 * along the last dimension), CSV (one line per element with its indices) or raw little-endian
 * bytes (C order, fixed-width dtypes only). Refuses regions above {@code --max-elements} unless
 * {@code --force}.
 */
@Command(name = "cat", mixinStandardHelpOptions = true, description = {"Print a region of one dataset's array (text, CSV or raw little-endian bytes).",
        "Exit codes: 0 ok, 1 runtime error, 2 usage error (bad region, too many elements), 3 not found."})
final class CatCommand extends StoreCommand {
    /** Default element limit: a million elements is already more than anyone reads as text. */
    static final long DEFAULT_MAX_ELEMENTS = 1_000_000;

    enum Format { text, csv, raw }

    @Parameters(index = "1", paramLabel = "DATASET")
    String dataset;

    @Parameters(index = "2", paramLabel = "ARRAY")
    String array;

    @Option(names = "--region", paramLabel = "START:STOP,...",
            description = "The box to print, one part per dimension: start:stop (stop exclusive), an index, or ':' (default: all).")
    String region;

    @Option(names = "--format", paramLabel = "FMT", description = "text, csv or raw (default ${DEFAULT-VALUE}).")
    Format format = Format.text;

    @Option(names = "--max-elements", paramLabel = "N", description = "Refuse larger regions (default ${DEFAULT-VALUE}).")
    long maxElements = DEFAULT_MAX_ELEMENTS;

    @Option(names = "--force", description = "Print regions larger than --max-elements.")
    boolean force;

    @ParentCommand
    AtlasCli parent;

    @Override
    public Integer call() throws IOException {
        try (StoreSession s = StoreSession.open(location())) {
            DatasetView ds = dataset(s, dataset);
            ArraySchema schema = schema(ds, array);
            Region box = RegionOption.parse(region, schema.shape(), schema.dimensionNames());
            if (box.count() > maxElements && !force) {
                throw CliException.usage(String.format("region %s of %s/%s has %,d elements, more than --max-elements %,d;"
                        + " narrow --region or pass --force", box, dataset, array, box.count(), maxElements));
            }
            if (format == Format.raw && schema.dtype().elementSize() <= 0) {
                throw CliException.usage("--format raw needs a fixed-width dtype; " + array + " is " + schema.dtype());
            }
            try (NdArray a = ds.readArray(array, box.start(), box.shape()).block()) {
                switch (format) {
                    case raw: writeRaw(a, parent.binaryOut()); break;
                    case csv: writeCsv(a, box, dims(schema), array, out()); break;
                    default: writeText(a, box, dataset, array, out()); break;
                }
            }
        }
        out().flush();
        return 0;
    }

    private static List<String> dims(ArraySchema schema) {
        List<String> d = new ArrayList<>();
        for (int i = 0; i < schema.rank(); i++) {
            String n = i < schema.dimensionNames().size() ? schema.dimensionNames().get(i) : "";
            d.add(n.isEmpty() ? "dim" + i : n);
        }
        return d;
    }

    /**
     * Copies the element bytes (little-endian, C order) to {@code os} in pieces of 1 MiB, stopping
     * quietly when {@code os} is a print stream whose reader went away; the array stays the caller's.
     */
    static void writeRaw(NdArray a, OutputStream os) throws IOException {
        ByteBuf data = a.data();
        int end = data.readerIndex() + data.readableBytes();
        for (int at = data.readerIndex(); at < end; at += 1 << 20) {
            data.getBytes(at, os, Math.min(1 << 20, end - at));
            if (os instanceof java.io.PrintStream p && p.checkError()) {
                return;
            }
        }
        os.flush();
    }

    static void writeCsv(NdArray a, Region box, List<String> dims, String array, PrintWriter out) {
        out.println(String.join(",", dims) + (dims.isEmpty() ? "" : ",") + csv(array));
        long[] shape = box.shape();
        long[] idx = new long[shape.length];
        StringBuilder line = new StringBuilder();
        for (long i = 0; i < a.size(); i++) {
            line.setLength(0);
            for (int d = 0; d < idx.length; d++) {
                line.append(box.start()[d] + idx[d]).append(',');
            }
            line.append(csv(Values.element(a, i)));
            out.println(line);
            if ((i & 1023) == 1023 && out.checkError()) {
                return; // the reader went away (a closed pipe: cat ... | head): stop quietly
            }
            for (int d = idx.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
    }

    private static String csv(String v) {
        if (v.indexOf(',') < 0 && v.indexOf('"') < 0 && v.indexOf('\n') < 0 && v.indexOf('\r') < 0) {
            return v;
        }
        return '"' + v.replace("\"", "\"\"") + '"';
    }

    /** ncdump-like text: a header comment, then rows along the last dimension, a blank line between 2-D slices. */
    static void writeText(NdArray a, Region box, String dataset, String array, PrintWriter out) {
        long[] shape = box.shape();
        out.printf("// %s/%s %s region [%s] shape %s%n", dataset, array, a.dtype(), box, Arrays.toString(shape));
        if (a.size() == 0) {
            return;
        }
        if (shape.length == 0) {
            out.println(Values.element(a, 0));
            return;
        }
        long row = shape[shape.length - 1];
        long rowsPerSlice = shape.length >= 2 ? shape[shape.length - 2] : Long.MAX_VALUE;
        StringBuilder line = new StringBuilder();
        long rows = a.size() / row;
        for (long r = 0; r < rows; r++) {
            if (shape.length > 2 && r % rowsPerSlice == 0) {
                if (r > 0) {
                    out.println();
                }
                out.println("// " + slicePrefix(box, r / rowsPerSlice));
            }
            line.setLength(0);
            for (long c = 0; c < row; c++) {
                line.append(c == 0 ? "" : " ").append(Values.element(a, r * row + c));
            }
            out.println(line);
            if ((r & 255) == 255 && out.checkError()) {
                return; // the reader went away (a closed pipe: cat ... | head): stop quietly
            }
        }
    }

    /** {@code [i, j, :, :]} for slice number {@code k} (in the region) of a rank > 2 region, absolute indices. */
    private static String slicePrefix(Region box, long k) {
        long[] shape = box.shape();
        int lead = shape.length - 2;
        long[] idx = new long[lead];
        for (int d = lead - 1; d >= 0; d--) {
            idx[d] = k % shape[d];
            k /= shape[d];
        }
        StringBuilder b = new StringBuilder("[");
        for (int d = 0; d < lead; d++) {
            b.append(box.start()[d] + idx[d]).append(", ");
        }
        return b.append(":, :]").toString();
    }
}
