package dev.atlas.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;

/** Where an s3:// store's region comes from: the option, the environment, then the AWS profile's config file. */
class S3SettingsTest {
    @TempDir
    Path tmp;

    @Test
    void theRegionFollowsOptionThenEnvironmentThenProfile() throws Exception {
        Path config = tmp.resolve("config");
        Files.writeString(config, "[default]\nregion = eu-north-1\n\n[profile other]\nregion = ap-south-2\n");
        String before = System.getProperty("aws.configFile");
        System.setProperty("aws.configFile", config.toString());
        try {
            S3Settings none = new S3Settings(null, false, null);
            assertEquals(Region.EU_NORTH_1, none.options("b", Map.of()).region(), "the profile's region");
            assertEquals(Region.US_WEST_2, none.options("b", Map.of("AWS_REGION", "us-west-2")).region(), "the environment first");
            assertEquals(Region.of("eu-south-1"), new S3Settings(null, false, "eu-south-1")
                    .options("b", Map.of("AWS_REGION", "us-west-2")).region(), "the option above all");
        } finally {
            if (before == null) {
                System.clearProperty("aws.configFile");
            } else {
                System.setProperty("aws.configFile", before);
            }
        }
    }
}
