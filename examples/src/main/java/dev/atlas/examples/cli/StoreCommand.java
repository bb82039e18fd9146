package dev.atlas.examples.cli;

import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.DatasetView;
import dev.atlas.store.StoreUri;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** A command on one store given as its first parameter (a directory or {@code s3://bucket/prefix}). */
abstract class StoreCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "STORE", description = "The store: a directory (PATH or file:///PATH) or an S3 prefix s3://bucket/prefix.")
    String store;

    @Spec
    CommandSpec spec;

    StoreUri location() {
        return StoreSession.location(store);
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** The dataset, or the typed not-found error naming the store. */
    static DatasetView dataset(StoreSession s, String name) {
        if (!s.atlas().datasetExists(name)) {
            throw new DatasetNotFoundException("no dataset '" + name + "' in the store at " + s.location()
                    + " (" + s.atlas().datasetCount() + " datasets; see 'atlas ls')");
        }
        return s.atlas().dataset(name);
    }

    /** The schema of {@code array} in {@code ds}, or the typed not-found error. */
    static ArraySchema schema(DatasetView ds, String array) {
        return ds.arrayMeta(array).orElseThrow(() -> new ArrayNotFoundException(
                "dataset '" + ds.name() + "' has no array '" + array + "' (it has " + ds.listArrays() + ")"));
    }
}
