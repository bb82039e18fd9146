package dev.atlas.examples.cli;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.storage.s3.S3StorageOptions;
import java.net.URI;
import java.util.Map;
import software.amazon.awssdk.regions.Region;

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
        S3StorageOptions.Builder b = S3StorageOptions.builder(bucket);
        String e = first(endpoint, env.get("AWS_ENDPOINT_URL_S3"), env.get("AWS_ENDPOINT_URL"));
        if (e != null) {
            URI uri;
            try {
                uri = URI.create(e);
            } catch (IllegalArgumentException bad) {
                throw CliException.usage("bad S3 endpoint '" + e + "': " + bad.getMessage());
            }
            try {
                b.endpoint(uri);
            } catch (InvalidArgumentException bad) {
                throw CliException.usage("bad S3 endpoint '" + e + "' (expected e.g. http://127.0.0.1:9000)");
            }
        }
        String r = first(region, env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"));
        if (r != null) {
            b.region(Region.of(r));
        } else {
            Region fromProfile = profileRegion();
            if (fromProfile != null) {
                b.region(fromProfile);
            }
        }
        if (stallSeconds != null) {
            try {
                b.stallTimeout(java.time.Duration.ofSeconds(stallSeconds));
            } catch (InvalidArgumentException bad) {
                throw CliException.usage("--s3-stall-timeout must be at least 1 second, not " + stallSeconds);
            }
        }
        return b.pathStyle(pathStyle).build();
    }

    /**
     * The region of the AWS profile ({@code AWS_PROFILE}, else {@code default}) in the AWS config
     * file ({@code ~/.aws/config}, or {@code AWS_CONFIG_FILE} / {@code aws.configFile}), as the AWS
     * CLI and SDKs read it; null when there is none. (Not the instance metadata service, whose
     * probe would stall every command off EC2.)
     */
    static Region profileRegion() {
        try {
            return new software.amazon.awssdk.regions.providers.AwsProfileRegionProvider().getRegion();
        } catch (RuntimeException none) {
            return null; // SdkClientException: no config file, no profile, or no region in it
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
