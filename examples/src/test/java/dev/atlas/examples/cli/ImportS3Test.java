package dev.atlas.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.storage.s3.S3Servers;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@code atlas import} into an S3 prefix of a real S3Mock server: the import with
 * {@code --keep-going} commits the good files only, and a store the command created for a file
 * that then failed leaves no object behind. Credentials reach the in-process CLI through the AWS
 * SDK's system properties, as a user's environment would give them.
 */
@ExtendWith(S3Servers.class)
class ImportS3Test {
    @BeforeAll
    static void credentials() {
        System.setProperty("aws.accessKeyId", S3Servers.ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", S3Servers.SECRET_KEY);
    }

    @AfterAll
    static void forget() {
        System.clearProperty("aws.accessKeyId");
        System.clearProperty("aws.secretAccessKey");
    }

    private static String[] s3(String... args) {
        String endpoint = S3Servers.get(S3Servers.Kind.S3MOCK).endpoint().toString();
        String[] all = new String[args.length + 5];
        all[0] = "--endpoint";
        all[1] = endpoint;
        all[2] = "--path-style";
        all[3] = "--s3-region";
        all[4] = "us-east-1";
        System.arraycopy(args, 0, all, 5, args.length);
        return all;
    }

    private static List<String> keys(String prefix) {
        S3AsyncClient client = S3Servers.get(S3Servers.Kind.S3MOCK).client();
        return client.listObjectsV2(b -> b.bucket(S3Servers.BUCKET).prefix(prefix)).join().contents().stream()
                .map(S3Object::key).toList();
    }

    @Test
    void keepGoingCommitsTheGoodFilesAndAFailedFirstFileLeavesNoObjects() throws Exception {
        String dir = ImportFailuresTest.fixtures().toString();
        String prefix = "import-" + System.nanoTime();
        Cli.Run r = Cli.run(s3("import", dir, "--store", "s3://" + S3Servers.BUCKET + "/" + prefix, "--keep-going"));
        assertEquals(AtlasCli.EXIT_PARTIAL, r.code(), r.toString());
        Cli.Run ls = Cli.run(s3("ls", "s3://" + S3Servers.BUCKET + "/" + prefix));
        assertEquals(List.of("a", "d"), ls.out().lines().toList(), ls.toString());
        Cli.Run cat = Cli.run(s3("cat", "s3://" + S3Servers.BUCKET + "/" + prefix, "a", "v", "--region", "3,98:100"));
        assertEquals(0, cat.code(), cat.toString());
        assertTrue(cat.out().contains("199") && cat.out().contains("199.5"), cat.out());

        String failed = "import-failed-" + System.nanoTime();
        Cli.Run f = Cli.run(s3("import", ImportFailuresTest.fixtures().resolve("c.nc").toString(), "--store",
                "s3://" + S3Servers.BUCKET + "/" + failed));
        assertEquals(AtlasCli.EXIT_RUNTIME, f.code(), f.toString());
        assertEquals(List.of(), keys(failed + "/"), "no object of the store the failed import created");
    }
}
