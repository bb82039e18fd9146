package dev.atlas.examples.cli;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.storage.s3.S3Environment;
import dev.atlas.storage.s3.S3StorageOptions;
import java.util.Map;

/**
 * How the tool reaches S3: the global options {@code --endpoint}, {@code --path-style} and
 * {@code --s3-region}, else the usual AWS environment ({@code AWS_ENDPOINT_URL_S3},
 * {@code AWS_ENDPOINT_URL}, {@code AWS_REGION}, {@code AWS_DEFAULT_REGION}), else the region of the
 * AWS profile in {@code ~/.aws/config}; credentials always
 * come from the AWS default chain (environment, profile, instance role).
 */
record S3Settings(String endpoint, boolean pathStyle, String region, Integer stallSeconds) {
    private static volatile S3Settings current = new S3Settings(null, false, null);

    S3Settings(String endpoint, boolean pathStyle, String region) {
        this(endpoint, pathStyle, region, null);
    }

    static S3Settings current() {
        return current;
    }

    static void set(S3Settings s) {
        current = s;
    }

    S3Settings withEndpoint(String e) {
        return new S3Settings(e, pathStyle, region, stallSeconds);
    }

    S3Settings withPathStyle(boolean p) {
        return new S3Settings(endpoint, p, region, stallSeconds);
    }

    S3Settings withRegion(String r) {
        return new S3Settings(endpoint, pathStyle, r, stallSeconds);
    }

    S3Settings withStallSeconds(int seconds) {
        return new S3Settings(endpoint, pathStyle, region, seconds);
    }

    /** Options for {@code bucket}, resolved against {@code env}. */
    S3StorageOptions options(String bucket) {
        return options(bucket, System.getenv());
    }

    S3StorageOptions options(String bucket, Map<String, String> env) {
        // The resolution is storage-s3's (shared with the Spring Boot starter); a bad endpoint is a usage error here.
        S3StorageOptions.Builder b;
        try {
            b = S3Environment.options(bucket, endpoint, region, pathStyle, env);
        } catch (InvalidArgumentException bad) {
            throw CliException.usage(bad.getMessage());
        }
        if (stallSeconds != null) {
            try {
                b.stallTimeout(java.time.Duration.ofSeconds(stallSeconds));
            } catch (InvalidArgumentException bad) {
                throw CliException.usage("--s3-stall-timeout must be at least 1 second, not " + stallSeconds);
            }
        }
        return b.build();
    }
}
