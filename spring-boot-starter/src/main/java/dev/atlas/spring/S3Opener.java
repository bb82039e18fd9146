package dev.atlas.spring;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.storage.s3.S3StorageOptions;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import java.net.URI;
import java.time.Duration;

/**
 * Opens an {@code s3://bucket/prefix} store. A class of its own so that atlas-storage-s3 (an
 * optional dependency of the starter) is loaded only for S3 stores.
 */
final class S3Opener {
    private S3Opener() {
    }

    static AtlasStore open(String text, AtlasProperties p, AtlasOptions options, EngineResources resources) {
        try {
            Class.forName("dev.atlas.storage.s3.S3Storage", false, S3Opener.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new InvalidArgumentException("atlas.store '" + text + "' is an S3 store: add dev.atlas:atlas-storage-s3 to the application");
        }
        String rest = text.substring(text.indexOf("://") + 3);
        int slash = rest.indexOf('/');
        String bucket = slash < 0 ? rest : rest.substring(0, slash);
        String prefix = slash < 0 ? "" : rest.substring(slash + 1);
        while (prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
        if (bucket.isEmpty()) {
            throw new InvalidArgumentException("atlas.store '" + text + "' names no bucket (expected s3://bucket/prefix)");
        }
        S3StorageOptions.Builder b = S3StorageOptions.builder(bucket).pathStyle(p.getS3().isPathStyle());
        String endpoint = first(p.getS3().getEndpoint(), System.getenv("AWS_ENDPOINT_URL_S3"), System.getenv("AWS_ENDPOINT_URL"));
        if (endpoint != null) {
            try {
                b.endpoint(URI.create(endpoint));
            } catch (IllegalArgumentException e) {
                throw new InvalidArgumentException("atlas.s3.endpoint '" + endpoint + "' is not a URI: " + e.getMessage());
            }
        }
        String region = first(p.getS3().getRegion(), System.getenv("AWS_REGION"), System.getenv("AWS_DEFAULT_REGION"));
        if (region != null) {
            b.region(software.amazon.awssdk.regions.Region.of(region));
        } else {
            try {
                b.region(new software.amazon.awssdk.regions.providers.AwsProfileRegionProvider().getRegion());
            } catch (RuntimeException none) {
                // no AWS config file or no region in it: the storage's default region
            }
        }
        S3Storage storage = S3Storage.open(b.build(), resources);
        try {
            Atlas atlas = (p.isCreate() ? Atlas.openOrCreate(storage, prefix, options) : Atlas.open(storage, prefix, options))
                    .block(Duration.ofMinutes(2));
            return AtlasStore.of(text, atlas, storage::close);
        } catch (RuntimeException e) {
            storage.close();
            throw e;
        }
    }

    private static String first(String... xs) {
        for (String x : xs) {
            if (x != null && !x.isBlank()) {
                return x;
            }
        }
        return null;
    }
}
