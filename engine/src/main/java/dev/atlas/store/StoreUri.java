package dev.atlas.store;

import dev.atlas.error.InvalidArgumentException;
import java.net.URI;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;

/**
 * Where a store lives, as people write it: a local directory ({@code PATH} or
 * {@code file:///PATH}) or an S3 prefix ({@code s3://bucket/prefix}). Only the parsing, shared by
 * every front end that takes a store location as text (the {@code atlas} tool's {@code --store},
 * the Spring Boot starter's {@code atlas.store}); opening is the backend's business
 * ({@code LocalAtlas}, {@code S3Storage} with {@link Atlas#open}).
 */
public sealed interface StoreUri permits StoreUri.Local, StoreUri.S3 {

    /**
     * Parses a store location.
     *
     * @throws InvalidArgumentException for an empty text, a path or {@code file:} URI the platform
     *     cannot use, an unknown scheme or an S3 URI without a bucket; the message names the text
     */
    static StoreUri parse(String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidArgumentException("the store location is empty");
        }
        int colon = text.indexOf("://");
        if (colon < 0) {
            try {
                return new Local(Paths.get(text));
            } catch (InvalidPathException e) {
                throw new InvalidArgumentException("'" + text + "' is not a usable path: " + e.getReason());
            }
        }
        String scheme = text.substring(0, colon).toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "file":
                try {
                    return new Local(Paths.get(URI.create(text)));
                } catch (IllegalArgumentException e) { // a malformed URI, one with a host or query, a bad path
                    throw new InvalidArgumentException("'" + text + "' is not a usable file URI (expected file:///PATH): "
                            + e.getMessage());
                }
            case "s3": {
                String rest = text.substring(colon + 3);
                int slash = rest.indexOf('/');
                String bucket = slash < 0 ? rest : rest.substring(0, slash);
                String prefix = slash < 0 ? "" : rest.substring(slash + 1);
                while (prefix.endsWith("/")) {
                    prefix = prefix.substring(0, prefix.length() - 1);
                }
                if (bucket.isEmpty()) {
                    throw new InvalidArgumentException("'" + text + "' names no bucket (expected s3://bucket/prefix)");
                }
                return new S3(bucket, prefix);
            }
            default:
                throw new InvalidArgumentException("unsupported store location '" + text
                        + "' (expected a directory or s3://bucket/prefix)");
        }
    }

    /** A store in a local directory. */
    record Local(Path dir) implements StoreUri {
        @Override
        public String toString() {
            return dir.toString();
        }
    }

    /** A store under {@code prefix} (possibly empty, no trailing '/') of an S3 bucket. */
    record S3(String bucket, String prefix) implements StoreUri {
        @Override
        public String toString() {
            return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
        }
    }
}
