package dev.atlas.examples.cli;

import dev.atlas.error.InvalidArgumentException;
import java.nio.file.Path;

/**
 * Where a store lives, as given on the command line: a local directory ({@code PATH} or
 * {@code file:///PATH}) or an S3 prefix ({@code s3://bucket/prefix}). Parsing is separate from
 * opening so that a backend can be added without touching the commands.
 */
public sealed interface StoreLocation permits StoreLocation.Local, StoreLocation.S3 {

    /**
     * Parses a store argument.
     *
     * @throws CliException (usage) for an empty argument, a path or {@code file:} URI the platform
     *         cannot use, an unknown scheme or an S3 URI without a bucket
     */
    public static StoreLocation parse(String text) {
        // The parsing is the engine's (shared with the Spring Boot starter's atlas.store); its
        // refusals are usage errors here.
        dev.atlas.store.StoreUri uri;
        try {
            uri = dev.atlas.store.StoreUri.parse(text);
        } catch (InvalidArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
        if (uri instanceof dev.atlas.store.StoreUri.S3 s3) {
            return new S3(s3.bucket(), s3.prefix());
        }
        return new Local(((dev.atlas.store.StoreUri.Local) uri).dir());
    }

    /** A store in a local directory. */
    record Local(Path dir) implements StoreLocation {
        @Override
        public String toString() {
            return dir.toString();
        }
    }

    /** A store under {@code prefix} (possibly empty) of an S3 bucket. */
    record S3(String bucket, String prefix) implements StoreLocation {
        @Override
        public String toString() {
            return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
        }
    }
}
