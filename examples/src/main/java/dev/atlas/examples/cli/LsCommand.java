package dev.atlas.examples.cli;

import dev.atlas.store.Atlas;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetMeta;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code atlas ls STORE}: the store's datasets (or, with {@code --arrays}, its array names). */
@Command(name = "ls", mixinStandardHelpOptions = true, description = {"List the datasets of a store (or its arrays with --arrays).",
        "Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 store not found."})
final class LsCommand extends StoreCommand {

    @Option(names = "--prefix", paramLabel = "P", description = "Only names starting with P.")
    String prefix = "";

    @Option(names = {"-l", "--long"}, description = "One line per name with details.")
    boolean longFormat;

    @Option(names = "--arrays", description = "List array names across the store instead of datasets.")
    boolean arrays;

    @Option(names = "--json", description = "JSON, as the HTTP service's catalog answers: {\"datasets\":[{name, arrays, attributes}]},"
            + " or with --arrays {\"arrays\":[{name, dtype, datasets}]}.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = out();
        try (StoreSession s = StoreSession.open(location())) {
            Atlas atlas = s.atlas();
            if (json) {
                byte[] body;
                if (arrays) {
                    body = dev.atlas.http.Catalog.arraysJson(atlas);
                } else {
                    body = dev.atlas.http.Catalog.datasetsJson(atlas, new java.util.TreeSet<>(atlas.listDatasets())
                            .stream().filter(n -> n.startsWith(prefix)).toList());
                }
                out.print(new String(body, java.nio.charset.StandardCharsets.UTF_8));
            } else if (arrays) {
                listArrays(atlas, out);
            } else {
                for (String name : new java.util.TreeSet<>(atlas.listDatasets())) {
                    if (!name.startsWith(prefix)) {
                        continue;
                    }
                    if (!longFormat) {
                        out.println(name);
                        continue;
                    }
                    DatasetMeta meta = atlas.dataset(name).meta();
                    long elements = 0;
                    for (ArraySchema a : meta.arrays().values()) {
                        elements += Arrays.stream(a.shape()).reduce(1, Math::multiplyExact);
                    }
                    Attr title = meta.attributes().get("title");
                    out.printf("%-24s %2d arrays %,14d elements  %s%n", name, meta.arrays().size(), elements,
                            title == null ? "" : Values.attr(title));
                }
            }
        }
        out.flush();
        return 0;
    }

    private void listArrays(Atlas atlas, PrintWriter out) {
        Map<String, Integer> declaring = new LinkedHashMap<>();
        if (longFormat) {
            for (String ds : atlas.listDatasets()) {
                for (String a : atlas.dataset(ds).meta().arrays().keySet()) {
                    declaring.merge(a, 1, Integer::sum);
                }
            }
        }
        for (String a : atlas.listArrays()) {
            if (!a.startsWith(prefix)) {
                continue;
            }
            if (longFormat) {
                out.printf("%-24s %-12s in %d dataset(s)%n", a, atlas.arrayDtype(a).map(Object::toString).orElse("?"),
                        declaring.getOrDefault(a, 0));
            } else {
                out.println(a);
            }
        }
    }
}
