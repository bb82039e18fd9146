package dev.atlas.examples.cli;

import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.store.Atlas;
import java.io.PrintWriter;
import java.util.LinkedHashSet;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code atlas rm STORE DATASET...}: deletes datasets and flushes (one commit). Every name is
 * checked first: an unknown name deletes nothing.
 */
@Command(name = "rm", mixinStandardHelpOptions = true, description = {"Delete datasets from a store (one commit; 'atlas compact' reclaims their space).",
        "Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 store or dataset not found (nothing deleted)."})
final class RmCommand extends StoreCommand {

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "DATASET", description = "Datasets to delete.")
    List<String> datasets;

    @Override
    public Integer call() {
        PrintWriter out = out();
        try (StoreSession s = StoreSession.open(location())) {
            Atlas atlas = s.atlas();
            LinkedHashSet<String> names = new LinkedHashSet<>(datasets);
            for (String ds : names) {
                if (!atlas.datasetExists(ds)) {
                    throw new DatasetNotFoundException("dataset '" + ds + "' is not in the store at " + s.location()
                            + " (nothing deleted)");
                }
            }
            for (String ds : names) {
                atlas.deleteDataset(ds).block();
            }
            atlas.flush().block();
            out.printf("removed %d dataset(s) from %s; %d left%n", names.size(), s.location(), atlas.datasetCount());
        }
        out.flush();
        return 0;
    }
}
