package dev.atlas.storage.s3;

import dev.atlas.error.InvalidArgumentException;
import java.net.URI;
import java.util.Map;
import software.amazon.awssdk.regions.Region;

/**
 * S3 options for a bucket as the AWS tools resolve them: an endpoint and region given explicitly,
 * else the environment ({@code AWS_ENDPOINT_URL_S3}, {@code AWS_ENDPOINT_URL}; {@code AWS_REGION},
 * {@code AWS_DEFAULT_REGION}), else the region of the AWS profile ({@code AWS_PROFILE}, else
 * {@code default}) in the AWS config file; credentials from the AWS default chain. Shared by the
 * front ends that open a store from settings: the {@code atlas} tool ({@code --endpoint},
 * {@code --s3-region}, {@code --path-style}) and the Spring Boot starter ({@code atlas.s3.*}).
 */
public final class S3Environment {
    private S3Environment() {
    }

    /**
     * Options for {@code bucket}.
     *
     * @param endpoint the endpoint given explicitly, or null/blank to look in {@code env}
     * @param region the region given explicitly, or null/blank to look in {@code env} and the AWS profile
     * @param env the environment to consult ({@code System.getenv()} in production)
     * @throws InvalidArgumentException for an endpoint that is not an http(s) URI with a host
     */
    public static S3StorageOptions.Builder options(String bucket, String endpoint, String region, boolean pathStyle,
            Map<String, String> env) {
        S3StorageOptions.Builder b = S3StorageOptions.builder(bucket);
        String e = first(endpoint, env.get("AWS_ENDPOINT_URL_S3"), env.get("AWS_ENDPOINT_URL"));
        if (e != null) {
            URI uri;
            try {
                uri = URI.create(e);
            } catch (IllegalArgumentException bad) {
                throw new InvalidArgumentException("bad S3 endpoint '" + e + "': " + bad.getMessage());
            }
            try {
                b.endpoint(uri);
            } catch (InvalidArgumentException bad) {
                throw new InvalidArgumentException("bad S3 endpoint '" + e + "' (expected e.g. http://127.0.0.1:9000)");
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
        return b.pathStyle(pathStyle);
    }

    /**
     * The region of the AWS profile ({@code AWS_PROFILE}, else {@code default}) in the AWS config
     * file ({@code ~/.aws/config}, or {@code AWS_CONFIG_FILE} / {@code aws.configFile}), as the AWS
     * CLI and SDKs read it; null when there is none. (Not the instance metadata service, whose
     * probe would stall every start off EC2.)
     */
    public static Region profileRegion() {
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
